// Each component's contract — defaults and argument rules — pure, so config/ reads the stack-config
// keys that feed a component through the same defaults and rules the component applies.
export * from "./common";
export * from "./consulCluster";
export * from "./swarmCluster";
export * from "./loadBalancerPair";
export * from "./webService";
