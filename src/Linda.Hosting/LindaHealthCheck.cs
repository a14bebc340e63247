using Akka.Actor;
using Akka.Cluster;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using static Linda.JobQueue;

namespace Linda.Hosting;

/// <summary>What <see cref="LindaHealthCheck"/> calls degraded or unhealthy.</summary>
public sealed class LindaHealthCheckOptions
{
    /// <summary>How long each queue has to answer; no answer is unhealthy. <b>Default:</b> 5 s.</summary>
    public TimeSpan QueueTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>A journal write in flight for longer than this is unhealthy (the store hangs). <b>Default:</b> 10 s.</summary>
    public TimeSpan WriteStall { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>A journal failure more recent than this is degraded (the queue started again and serves). <b>Default:</b> 5 min.</summary>
    public TimeSpan RecentFailure { get; set; } = TimeSpan.FromMinutes(5);
}

/// <summary>
/// The health of Linda on this node: it is an <c>Up</c> member of its cluster, and every queue it
/// knows answers within a bound, with a journal that writes. Unhealthy: the node is down or removed,
/// a queue does not answer, is being started again after a failed write, or has a write stuck in
/// flight. Degraded: the node is joining or leaving, or a queue's journal failed a write recently.
/// Each reason is in the description and, per queue, in the data.
/// </summary>
public sealed class LindaHealthCheck(ActorSystem system, LindaHealthCheckOptions options) : IHealthCheck
{
    /// <inheritdoc />
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var worst = HealthStatus.Healthy;
        var reasons = new List<string>();
        var data = new Dictionary<string, object>();
        void Report(HealthStatus status, string reason)
        {
            if (status < worst)
                worst = status;
            reasons.Add(reason);
        }

        if (system.WhenTerminated.IsCompleted)
            return HealthCheckResult.Unhealthy("the actor system has terminated");
        var member = Cluster.Get(system).SelfMember;
        data["node"] = $"{member.Address} {member.Status}";
        switch (member.Status)
        {
            case MemberStatus.Up:
                break;
            case MemberStatus.Joining or MemberStatus.WeaklyUp:
                Report(HealthStatus.Degraded, $"this node is {member.Status}, not yet Up in the cluster");
                break;
            case MemberStatus.Leaving or MemberStatus.Exiting:
                Report(HealthStatus.Degraded, $"this node is {member.Status} the cluster");
                break;
            default:
                Report(HealthStatus.Unhealthy, $"this node is {member.Status} in the cluster");
                break;
        }

        var queues = LindaNode.Get(system).Queues;
        var answers = await Task.WhenAll(queues.Select(q => AskAsync(q.Key, q.Value, cancellationToken)));
        foreach (var (queue, status, reason) in answers)
        {
            data[$"queue {queue}"] = reason ?? "healthy";
            if (reason is not null)
                Report(status, $"queue {queue}: {reason}");
        }
        var description = reasons.Count == 0 ? $"{queues.Count} queues answer; this node is Up" : string.Join("; ", reasons);
        return new HealthCheckResult(worst, description, data: data);
    }

    private async Task<(string Queue, HealthStatus Status, string? Reason)> AskAsync(string queue, IActorRef proxy, CancellationToken cancellationToken)
    {
        QueueHealth health;
        try
        {
            var reply = await proxy.Ask<IReply>(GetHealth.Instance, options.QueueTimeout, cancellationToken);
            if (reply is not QueueHealth h)
                return (queue, HealthStatus.Unhealthy, $"answered {reply}");
            health = h;
        }
        catch (AskTimeoutException)
        {
            return (queue, HealthStatus.Unhealthy, $"did not answer within {options.QueueTimeout.TotalSeconds:0.###} s");
        }
        if (!health.Running)
            return (queue, HealthStatus.Unhealthy, $"is being started again after a journal failure ({health.LastFailure})");
        if (health.WriteInFlightSince is { } since && health.Now - since > options.WriteStall)
            return (queue, HealthStatus.Unhealthy, $"a journal write has been in flight for {(health.Now - since).TotalSeconds:0.#} s");
        if (health.LastFailureAt is { } failed && health.Now - failed < options.RecentFailure)
            return (queue, HealthStatus.Degraded, $"the journal failed a write {(health.Now - failed).TotalSeconds:0.#} s ago ({health.LastFailure}); {health.Failures} failures since it started here");
        return (queue, HealthStatus.Healthy, null);
    }
}

/// <summary>Registers <see cref="LindaHealthCheck"/>.</summary>
public static class LindaHealthCheckExtensions
{
    /// <summary>
    /// Adds Linda's health check (<c>services.AddHealthChecks().AddLinda()</c>): this node's cluster
    /// membership and every queue it knows. Tags such as <c>ready</c> pick it for a readiness probe.
    /// </summary>
    public static IHealthChecksBuilder AddLinda(this IHealthChecksBuilder builder, Action<LindaHealthCheckOptions>? configure = null,
        string name = "linda", HealthStatus? failureStatus = null, IEnumerable<string>? tags = null)
    {
        var options = new LindaHealthCheckOptions();
        configure?.Invoke(options);
        return builder.Add(new HealthCheckRegistration(name, sp => new LindaHealthCheck(sp.GetRequiredService<ActorSystem>(), options), failureStatus, tags));
    }
}
