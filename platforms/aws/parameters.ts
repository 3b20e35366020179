// Parameter Store: where node files and scripts live (SecureString, read with the node's role).
//
// A value is stored gzip-compressed and base64-encoded: Parameter Store refuses values over 4 KB
// (Standard tier) / 8 KB (Advanced) — "Parameter value size: Standard 4 KB, Advanced 8 KB",
// https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-advanced-parameters.html —
// and the web deploy script alone is ~9 KB of text (~3 KB stored). Intelligent-Tiering lets AWS pick
// Standard (free) for a value up to 4 KB and Advanced above; tests/unit/awsLimits.test.ts holds every
// stored value of the graph to its tier's limit.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { shellQuote } from "../../render/shell";
import { DECODE_STORED_TEXT, encodeStoredText } from "../../render/storedForm";

export const PARAMETER_TIER = "Intelligent-Tiering";

/** A SecureString holding `content` in its stored form; secret content stays secret. */
export function storedText(
    resourceName: string,
    parameterName: pulumi.Input<string>,
    content: pulumi.Input<string>,
    description: string,
    parent: pulumi.Resource,
): aws.ssm.Parameter {
    return new aws.ssm.Parameter(
        resourceName,
        {
            name: parameterName,
            type: "SecureString",
            tier: PARAMETER_TIER,
            value: pulumi.output(content).apply(encodeStoredText),
            description,
        },
        { parent },
    );
}

/** Shell that prints a stored text, decoded (fails when the read fails: gunzip refuses empty input). */
export function readStoredText(parameterName: string): string {
    return `${readParameter(parameterName)} | ${DECODE_STORED_TEXT}`;
}

/** Shell that prints a parameter's plain value. */
export function readParameter(parameterName: string): string {
    return `aws ssm get-parameter --with-decryption --name ${shellQuote(parameterName)} --query Parameter.Value --output text`;
}
