using Akka.Actor;
using Linda.Hosting;
using Linda.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Xunit;
using static Linda.JobQueue;

namespace Linda.Tests;

/// <summary>
/// <c>AddHealthChecks().AddLinda()</c> on a one-node cluster (WithLinda, SQLite file; Akka's default
/// cluster profile, nothing is killed): healthy, and each way it is not, provoked for real: a journal
/// that fails its writes (a trigger aborts inserts), a write stuck behind SQLite's write lock, a queue
/// that is restarting, a queue that no node runs.
/// </summary>
[Collection(DatabaseCollection.Name)]
public sealed class HealthCheckSpec : IDisposable
{
    private const string Q = "health";
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private string Db => _folder.File("linda.db");

    private LindaOptions Options(string? queueRole = null) =>
        new() { Queues = [Q], WorkerNum = 1, SqlitePath = Db, QueueRole = queueRole };

    private static Task<HealthCheckResult> Check(LindaHost node, Action<LindaHealthCheckOptions>? configure = null)
    {
        var options = new LindaHealthCheckOptions();
        configure?.Invoke(options);
        return new LindaHealthCheck(node.System, options).CheckHealthAsync(new HealthCheckContext());
    }

    private void Sql(string sql) => SqliteFile.Execute(Db, sql);

    [Fact]
    public async Task A_node_that_is_up_with_queues_that_answer_is_healthy_through_the_health_check_service()
    {
        await using var node = await LindaHost.StartAsync(Options(), services: s => s.AddHealthChecks().AddLinda(tags: ["ready"]));
        Assert.IsType<Pushed>(await node.Client.PushAsync(Q, JobPayload.Create("none")));

        var report = await node.Host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync();

        var entry = Assert.Single(report.Entries);
        Assert.Equal("linda", entry.Key);
        Assert.Equal(HealthStatus.Healthy, entry.Value.Status);
        Assert.Contains("Up", entry.Value.Description);
        Assert.Equal("healthy", entry.Value.Data[$"queue {Q}"]);
        Assert.Contains("ready", entry.Value.Tags);
    }

    [Fact]
    public async Task A_journal_that_failed_a_write_is_unhealthy_while_the_queue_restarts_and_degraded_once_it_serves_again()
    {
        // Long enough that the check sees the queue down; the spec waits for its restart below.
        await using var node = await LindaHost.StartAsync(Options(), hocon: "linda.queue.restart-backoff = 3s\nlinda.queue.restart-backoff-max = 3s");
        Assert.IsType<Pushed>(await node.Client.PushAsync(Q, JobPayload.Create("none")));
        Sql("CREATE TRIGGER fail_writes BEFORE INSERT ON journal BEGIN SELECT RAISE(ABORT, 'injected journal failure'); END;");
        Assert.IsType<WriteFailed>(await node.Client.PushAsync(Q, JobPayload.Create("none")));
        Sql("DROP TRIGGER fail_writes;");

        var restarting = await Check(node);
        Assert.Equal(HealthStatus.Unhealthy, restarting.Status);
        Assert.Contains("being started again", restarting.Description);
        Assert.Contains("injected journal failure", restarting.Description);

        HealthCheckResult serving = default;
        await Conditions.Until(async () => (serving = await Check(node)).Status != HealthStatus.Unhealthy, "the queue started again", TimeSpan.FromSeconds(30));
        Assert.Equal(HealthStatus.Degraded, serving.Status);
        Assert.Contains("failed a write", serving.Description);
        Assert.IsType<Pushed>(await node.Client.PushAsync(Q, JobPayload.Create("none")));

        var forgotten = await Check(node, o => o.RecentFailure = TimeSpan.FromMilliseconds(1));
        Assert.Equal(HealthStatus.Healthy, forgotten.Status);
    }

    [Fact]
    public async Task A_write_stuck_in_flight_is_unhealthy()
    {
        await using var node = await LindaHost.StartAsync(Options());
        Assert.IsType<Pushed>(await node.Client.PushAsync(Q, JobPayload.Create("none")));
        Task<IReply> stuck;
        using (var held = WriteLock.Take(Db))
        {
            stuck = node.Client.PushAsync(Q, JobPayload.Create("none"));
            HealthCheckResult result = default;
            await Conditions.Until(async () => (result = await Check(node, o => o.WriteStall = TimeSpan.FromMilliseconds(300))).Status == HealthStatus.Unhealthy,
                "the check sees the write stuck", TimeSpan.FromSeconds(8));
            Assert.Contains("in flight", result.Description);
            held.Release();
        }
        Assert.IsType<Pushed>(await stuck);
        Assert.Equal(HealthStatus.Healthy, (await Check(node)).Status);
    }

    [Fact]
    public async Task A_queue_that_no_node_runs_does_not_answer_and_is_unhealthy()
    {
        // The queue lives on nodes with the role "queues"; this node has none, so it never starts.
        await using var node = await LindaHost.StartAsync(Options(queueRole: "queues"));

        var result = await Check(node, o => o.QueueTimeout = TimeSpan.FromMilliseconds(500));

        Assert.Equal(HealthStatus.Unhealthy, result.Status);
        Assert.Contains($"queue {Q}: did not answer within 0.5 s", result.Description);
        Assert.Contains("Up", (string)result.Data["node"]);
    }
}
