export * from "./consulCluster";
export * from "./swarmCluster";
export * from "./loadBalancerPair";
export * from "./webService";
export * from "./monitoring";
