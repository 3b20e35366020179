// The policy pack's entry point: `pulumi preview --policy-pack policy`. `new PolicyPack` starts the
// analyzer's gRPC server and keeps the process alive, so nothing imports this file: tests import
// ./pack (the policies) and ./rules (the checks).
import { PolicyPack } from "@pulumi/policy";
import { POLICY_PACK_NAME, policies } from "./pack";

new PolicyPack(POLICY_PACK_NAME, { policies });
