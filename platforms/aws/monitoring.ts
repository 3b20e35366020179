// Prod monitoring (README: Prod monitoring): the stack's CloudWatch Logs group, the SNS topic its
// alarms notify, and the alarms — each instance's status checks, the CPU credits of a burstable
// instance, the unhealthy targets of each load balancer target group. Every alarm notifies the same
// topic on ALARM and on OK, so a page is followed by its all-clear.
//
// Missing data (treatMissingData) is `notBreaching` everywhere, each for its own reason:
// - status checks and CPU credits: an instance that is stopped or terminated sends no data. During
//   a rolling replacement the node's instance is deleted before its successor exists (fixed private
//   address, deleteBeforeReplace: node.ts); `breaching` would page for every planned replacement,
//   `missing` would move the alarm to INSUFFICIENT_DATA and page an OK when the successor reports.
//   A node that is really gone is the platform's to notice (the ALB's unhealthy targets, Consul's
//   and the swarm's own health), not its instance's status check.
// - unhealthy targets: "Elastic Load Balancing reports metrics to CloudWatch only when requests are
//   flowing through the load balancer ... If there are no requests flowing through the load
//   balancer or no data for a metric, the metric is not reported"
//   (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-cloudwatch-metrics.html):
//   no data means no traffic, not unhealthy targets.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { AwsContext, stackTags } from "./context";
import { alarmName, logGroupName, snsTopicName } from "./names";

/** What the rest of the platform needs from monitoring. */
export interface AwsMonitoring {
    /** The stack's log group: containers (dockerd's awslogs driver) and host daemons (Fluent Bit) log to it. */
    readonly logGroup: aws.cloudwatch.LogGroup;
    readonly logGroupName: string;
    /** The group's ARN in IAM's form for its streams and events: `arn:aws:logs:<region>:<account>:log-group:<name>:*`. */
    readonly logGroupStreamsArn: pulumi.Output<string>;
    /** The topic every alarm notifies (aws.monitoring.alarmTopicArn, or the stack's own). */
    readonly alarmTopicArn: pulumi.Output<string>;
}

export function createMonitoring(ctx: AwsContext): AwsMonitoring {
    const { project, stack, aws: config } = ctx.args;
    const child = { parent: ctx.component };
    const name = logGroupName(project, stack);
    const logGroup = new aws.cloudwatch.LogGroup(
        `${ctx.platformName}-logs`,
        { name, retentionInDays: config.monitoring.logRetentionDays, tags: stackTags(ctx.args, "logs") },
        child,
    );
    // "Use the second version, with the trailing :*, to refer to the ARN when specifying permissions
    // in IAM policies" (CreateLogStream, PutLogEvents): the log group's ARN with :* covers its streams
    // and no other group's (names hold no colon).
    // https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/iam-access-control-overview-cwl.html
    const logGroupStreamsArn = pulumi.interpolate`arn:aws:logs:${ctx.region}:${ctx.accountId}:log-group:${name}:*`;
    let alarmTopicArn: pulumi.Output<string>;
    if (config.monitoring.alarmTopicArn !== "") {
        alarmTopicArn = pulumi.output(config.monitoring.alarmTopicArn);
    } else {
        // No topic given: the stack's own, so every alarm has an action from the first `up`; an operator
        // subscribes to it (README: Prod monitoring) instead of alarms that notify no one. Setting
        // aws.monitoring.alarmTopicArn later updates the alarms in place and deletes this topic. No
        // warning at each `up`: a stack whose own topic has its subscribers would carry it forever.
        const topic = new aws.sns.Topic(
            `${ctx.platformName}-alarms`,
            { name: snsTopicName(project, stack, "alarms"), tags: stackTags(ctx.args, "alarms") },
            child,
        );
        alarmTopicArn = topic.arn;
    }
    return { logGroup, logGroupName: name, logGroupStreamsArn, alarmTopicArn };
}

/** What every alarm shares: named like the stack's resources, notifying the topic on ALARM and OK. */
function alarm(
    ctx: AwsContext,
    monitoring: AwsMonitoring,
    resourceName: string,
    what: string,
    args: Omit<aws.cloudwatch.MetricAlarmArgs, "name" | "alarmActions" | "okActions" | "tags" | "treatMissingData">,
    opts: pulumi.CustomResourceOptions,
): aws.cloudwatch.MetricAlarm {
    return new aws.cloudwatch.MetricAlarm(
        resourceName,
        {
            ...args,
            name: alarmName(ctx.args.namePrefix, what),
            alarmActions: [monitoring.alarmTopicArn],
            okActions: [monitoring.alarmTopicArn],
            treatMissingData: "notBreaching",
            tags: stackTags(ctx.args, what),
        },
        opts,
    );
}

/**
 * Burstable instance types (T2, T3, T3a, T4g): they run on CPU credits, and a node that has spent
 * them is throttled to its baseline (standard mode, T2's default) or runs up surplus charges
 * (unlimited mode, T3/T3a/T4g's default: RunInstances, CreditSpecification,
 * https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_RunInstances.html).
 * https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/burstable-performance-instances.html
 */
const BURSTABLE_FAMILIES = ["t2", "t3", "t3a", "t4g"] as const;

export function isBurstable(instanceType: string): boolean {
    const family = instanceType.split(".")[0];
    return (BURSTABLE_FAMILIES as readonly string[]).includes(family);
}

/**
 * An instance's alarms: its status checks (system and instance: StatusCheckFailed is 1 when either
 * fails), and, on a burstable type, an empty CPU credit balance.
 * Metrics: https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/viewing_metrics_with_cloudwatch.html
 * (AWS/EC2, dimension InstanceId).
 */
export function instanceAlarms(
    ctx: AwsContext,
    monitoring: AwsMonitoring,
    node: { readonly name: string; readonly instance: aws.ec2.Instance; readonly instanceType: string },
    parent: pulumi.Resource,
): aws.cloudwatch.MetricAlarm[] {
    const dimensions = { InstanceId: node.instance.id };
    const alarms = [
        // Two failed minutes: a status check is reported every minute; one failure can be the check's own.
        alarm(
            ctx,
            monitoring,
            `${node.name}-status-check-alarm`,
            `${node.name}-status-check`,
            {
                alarmDescription: `${node.name}: an EC2 status check (system or instance) failed for 2 minutes`,
                namespace: "AWS/EC2",
                metricName: "StatusCheckFailed",
                dimensions,
                statistic: "Maximum",
                period: 60,
                evaluationPeriods: 2,
                comparisonOperator: "GreaterThanOrEqualToThreshold",
                threshold: 1,
            },
            { parent },
        ),
    ];
    if (isBurstable(node.instanceType)) {
        // Exhausted, not merely low: under one credit all hour, i.e. the node spends every credit it
        // earns (at or above its baseline the whole time). "CPU credit metrics are available at a
        // five-minute frequency only" (the EC2 metrics page above): 12 periods of 5 minutes. A
        // shorter window pages after every replacement: a new T3 starts with no credits in unlimited
        // mode and first pays back what its boot burst spent, then earns 12–24 credits an hour (micro,
        // small, medium). Maximum: any moment with a credit to spare in a period clears it.
        alarms.push(
            alarm(
                ctx,
                monitoring,
                `${node.name}-cpu-credits-alarm`,
                `${node.name}-cpu-credits`,
                {
                    alarmDescription: `${node.name} (${node.instanceType}): CPU credits exhausted for an hour — throttled to baseline (standard mode) or charged for surplus credits (unlimited); a larger aws.instanceTypes size fixes it`,
                    namespace: "AWS/EC2",
                    metricName: "CPUCreditBalance",
                    dimensions,
                    statistic: "Maximum",
                    period: 300,
                    evaluationPeriods: 12,
                    comparisonOperator: "LessThanThreshold",
                    threshold: 1,
                },
                { parent },
            ),
        );
    }
    return alarms;
}

/**
 * One alarm per target group: any unhealthy target for 3 minutes (AWS/ApplicationELB
 * UnHealthyHostCount, dimensions TargetGroup and LoadBalancer). The targets are the HAProxy nodes,
 * active-active: one of two down halves the capacity and leaves none to spare. A rolling replacement
 * of an LB node raises it by design (its successor takes a few minutes to pass the health check) and
 * clears it.
 */
export function unhealthyTargetsAlarm(
    ctx: AwsContext,
    monitoring: AwsMonitoring,
    resourceName: string,
    what: string,
    loadBalancer: aws.lb.LoadBalancer,
    targetGroup: aws.lb.TargetGroup,
): aws.cloudwatch.MetricAlarm {
    return alarm(
        ctx,
        monitoring,
        resourceName,
        what,
        {
            alarmDescription: `${what}: a target of the load balancer failed its health check for 3 minutes`,
            namespace: "AWS/ApplicationELB",
            metricName: "UnHealthyHostCount",
            // CloudWatch names them by their ARN suffixes, "LoadBalancer: app/<name>/<id>" and
            // "TargetGroup: targetgroup/<name>/<id>" (the metrics page above, Metric dimensions): the
            // provider's `arnSuffix`, "ARN suffix for use with CloudWatch Metrics" (@pulumi/aws lb).
            dimensions: { TargetGroup: targetGroup.arnSuffix, LoadBalancer: loadBalancer.arnSuffix },
            statistic: "Maximum",
            period: 60,
            evaluationPeriods: 3,
            comparisonOperator: "GreaterThanOrEqualToThreshold",
            threshold: 1,
        },
        { parent: ctx.component },
    );
}
