// App images: built here, pushed to a private ECR repository of the stack; nodes pull with their
// instance role.
import * as path from "path";
import * as aws from "@pulumi/aws";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { formerName, REPO_ROOT } from "../shared";
import { BuiltImage, ImageBuildArgs } from "../types";
import { contentTag } from "../imageContext";
import { AwsContext } from "./context";
import { ecrRepositoryName } from "./names";

export function buildEcrImage(ctx: AwsContext, args: ImageBuildArgs): BuiltImage {
    const repo = new aws.ecr.Repository(
        `${ctx.platformName}-${args.name}-repo`,
        {
            name: ecrRepositoryName(ctx.args.project, ctx.args.stack, args.name),
            imageTagMutability: "IMMUTABLE",
            imageScanningConfiguration: { scanOnPush: true },
            encryptionConfigurations: [{ encryptionType: "AES256" }],
            forceDelete: true,
        },
        { parent: ctx.component, aliases: formerName(args.formerParent, `${args.name}-repo`) },
    );
    const auth = aws.ecr.getAuthorizationTokenOutput({ registryId: repo.registryId }, { parent: ctx.component });
    const image = new docker.Image(
        `${ctx.platformName}-${args.name}-image`,
        {
            // The version plus a digest of the build's files: the repository is IMMUTABLE (a tag once
            // pushed never changes), so an edit to the app or Dockerfile without a version bump must be
            // a new tag, not a refused push of the old one (platforms/imageContext.ts).
            imageName: pulumi.interpolate`${repo.repositoryUrl}:${args.tag}-${contentTag(REPO_ROOT, path.join(REPO_ROOT, args.dockerfile))}`,
            build: {
                context: REPO_ROOT,
                dockerfile: path.join(REPO_ROOT, args.dockerfile),
                args: { ...(args.buildArgs ?? {}) },
                platform: "linux/amd64",
            },
            registry: { server: auth.proxyEndpoint, username: auth.userName, password: pulumi.secret(auth.password) },
        },
        { parent: ctx.component, aliases: formerName(args.formerParent, `${args.name}-image`) },
    );
    return {
        name: args.name,
        ref: image.imageName,
        digest: image.repoDigest,
        resource: image,
        inRegistry: true,
        formerParent: args.formerParent,
    };
}
