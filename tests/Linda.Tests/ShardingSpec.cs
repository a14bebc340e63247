using System.Collections.Concurrent;
using System.Diagnostics;
using Akka.Actor;
using Akka.Cluster;
using Linda.Hosting;
using Linda.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;
using static Linda.JobQueue;
using static Linda.Tests.Infrastructure.Conditions;

namespace Linda.Tests;

/// <summary>
/// The sharded placement: six queues, entities of one shard region, on Linda nodes in one process
/// (<see cref="LindaHost"/>: a generic host each, loopback, one PostgreSQL journal), with Linda's fast
/// failover profile (hocon/failover-fast.conf) and a rebalance round every second. Where a queue runs
/// is read from each node's region (<see cref="ShardedQueues"/>), which sends the queues nothing.
/// A crash is <see cref="LindaHost.CrashAsync"/> (the ActorSystem stops without leaving); a leave is
/// stopping the host (coordinated shutdown).
/// </summary>
[Collection(DatabaseCollection.Name)]
public sealed class ShardingSpec(PostgresFixture postgres, ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly string[] Queues = ["q1", "q2", "q3", "q4", "q5", "q6"];
    private static readonly TimeSpan Failover = TimeSpan.FromSeconds(90);

    /// <summary>A rebalance round every second (Linda's default is 10 s), so a joining node takes its queues soon.</summary>
    private const string FastRebalance = "linda.sharding.rebalance-interval = 1s";

    private readonly List<LindaHost> _nodes = [];
    private readonly ConcurrentQueue<Run> _started = new();
    private readonly ConcurrentQueue<Run> _finished = new();
    private string _database = "";

    /// <summary>One handler run: which job, on which node.</summary>
    private sealed record Run(string JobId, string Node, int Attempt);

    public async Task InitializeAsync() => _database = await postgres.Server.CreateDatabaseAsync();

    public async Task DisposeAsync()
    {
        foreach (var node in Enumerable.Reverse(_nodes))
            await node.DisposeAsync();
    }

    private LindaOptions Options(string? queueRole = null, string? workerRole = null) => new()
    {
        Queues = Queues,
        WorkerNum = 2,
        QueueRole = queueRole,
        WorkerRole = workerRole,
        Placement = QueuePlacement.Sharded,
        ConnectionString = _database,
        ProviderName = PostgresStore.Provider,
        FailoverProfile = FailoverProfile.Fast,
        // Far beyond every bound here: a job that runs again did so because its holder was seen to
        // die, never because its lease ran out.
        DefaultTimeToRun = TimeSpan.FromMinutes(10),
    };

    private async Task<LindaHost> StartNode(string name, LindaHost? seed, string[]? roles = null, LindaOptions? options = null)
    {
        var node = await LindaHost.StartAsync(options ?? Options(), h => h.Register("record", async ctx =>
        {
            var run = new Run(ctx.JobId, name, ctx.Attempt);
            _started.Enqueue(run);
            await Task.Delay(TimeSpan.FromMilliseconds(2), ctx.CancellationToken);
            _finished.Enqueue(run);
        }), seed?.Address, roles, hocon: FastRebalance);
        _nodes.Add(node);
        return node;
    }

    private static string Name(LindaHost node) => node.Address.Port.ToString()!;

    private static Task<IReadOnlySet<string>> QueuesOn(LindaHost node) => node.ShardedQueuesAsync();

    /// <summary>Each node with the queues it runs.</summary>
    private static async Task<(LindaHost Node, IReadOnlySet<string> Queues)[]> Placement(IEnumerable<LindaHost> nodes) =>
        await Task.WhenAll(nodes.Select(async n => (n, await QueuesOn(n))));

    /// <summary>Every queue runs on exactly one of <paramref name="nodes"/>, and each of them runs at least one.</summary>
    private static async Task<bool> SpreadOver(params LindaHost[] nodes)
    {
        var placement = await Placement(nodes);
        var all = placement.SelectMany(p => p.Queues).ToList();
        return placement.All(p => p.Queues.Count > 0) && all.Count == Queues.Length && all.ToHashSet().SetEquals(Queues);
    }

    private static string Describe((LindaHost Node, IReadOnlySet<string> Queues)[] placement) =>
        string.Join("; ", placement.Select(p => $"{Name(p.Node)}: {string.Join(",", p.Queues.Order(StringComparer.Ordinal))}"));

    private static Push Record(string queue, string id) => new(queue, TestJobs.Payload("record")) { Id = id };

    private static async Task AllEmpty(LindaHost node)
    {
        foreach (var queue in Queues)
            await Eventually(async () => await node.Client.GetStatsAsync(queue) is QueueStats { Jobs: 0 } s ? s : null, $"queue {queue} to be empty", Failover);
    }

    private void AssertEveryAcknowledgedJobRanOnce(ConcurrentDictionary<string, bool> acknowledged)
    {
        var finished = _finished.Select(r => r.JobId).ToHashSet();
        var lost = acknowledged.Keys.Where(id => !finished.Contains(id)).ToArray();
        Assert.True(lost.Length == 0, $"{lost.Length} acknowledged jobs never completed, e.g. {string.Join(", ", lost.Take(5))}");
        var twice = _started.GroupBy(r => r.JobId).Where(g => g.Count() > 1).Select(g => $"{g.Key} on {string.Join("+", g.Select(r => r.Node))}").ToArray();
        Assert.True(twice.Length == 0, $"ran twice: {string.Join(", ", twice.Take(10))}");
    }

    [Fact]
    public async Task The_queues_spread_over_the_nodes_and_a_node_that_joins_takes_some_over_with_no_job_run_twice()
    {
        var a = await StartNode("a", null);
        var b = await StartNode("b", a);
        await Until(() => SpreadOver(a, b), "the queues to spread over two nodes", Failover);

        var acknowledged = new ConcurrentDictionary<string, bool>();
        using var stop = new CancellationTokenSource();
        var producers = Task.WhenAll(a.ProduceAsync((n, id) => Record(Queues[n % Queues.Length], id), "a", acknowledged, stop.Token), b.ProduceAsync((n, id) => Record(Queues[n % Queues.Length], id), "b", acknowledged, stop.Token));
        await Until(() => acknowledged.Count >= 300 && _finished.Count >= 100, "jobs to flow");

        // The queues that move to c are handed over while pushes and runs go on.
        var c = await StartNode("c", a);
        await Until(() => SpreadOver(a, b, c), "the new node to take queues over", Failover,
            () => Describe(Placement([a, b, c]).GetAwaiter().GetResult()));
        var atJoin = acknowledged.Count;
        await Until(() => acknowledged.Count >= atJoin + 300, "pushes to be acknowledged after the rebalance", Failover);
        await stop.CancelAsync();
        await producers;

        await AllEmpty(c);
        var placement = await Placement([a, b, c]);
        output.WriteLine($"queues after c joined: {Describe(placement)}");
        Assert.All(placement, p => Assert.InRange(p.Queues.Count, 1, 4));
        AssertEveryAcknowledgedJobRanOnce(acknowledged);
        Assert.Contains(_started, r => r.Node == "c");
    }

    [Fact]
    public async Task A_node_that_leaves_hands_its_queues_over_and_no_job_runs_twice()
    {
        var a = await StartNode("a", null);
        var b = await StartNode("b", a);
        var c = await StartNode("c", a);
        await Until(() => SpreadOver(a, b, c), "the queues to spread over three nodes", Failover);
        var leaving = await QueuesOn(b);

        var acknowledged = new ConcurrentDictionary<string, bool>();
        using var stop = new CancellationTokenSource();
        var producers = Task.WhenAll(a.ProduceAsync((n, id) => Record(Queues[n % Queues.Length], id), "a", acknowledged, stop.Token), c.ProduceAsync((n, id) => Record(Queues[n % Queues.Length], id), "c", acknowledged, stop.Token));
        await Until(() => acknowledged.Count >= 600 && _finished.Count(r => r.Node == "b") >= 50, "jobs to flow on every node");

        // Coordinated shutdown: b's workers drain, its region hands each queue over (pending writes
        // first, then the stop), it leaves.
        _nodes.Remove(b);
        var leftAt = Stopwatch.GetTimestamp();
        await b.DisposeAsync();
        output.WriteLine($"b (queues {string.Join(",", leaving)}) left in {Stopwatch.GetElapsedTime(leftAt).TotalMilliseconds:F0} ms");
        var atLeave = acknowledged.Count;
        await Until(() => acknowledged.Count >= atLeave + 400, "pushes to be acknowledged after the hand-over", Failover);
        await stop.CancelAsync();
        await producers;

        await AllEmpty(a);
        Assert.True(await SpreadOver(a, c), $"every queue runs on a or c: {Describe(await Placement([a, c]))}");
        AssertEveryAcknowledgedJobRanOnce(acknowledged);
    }

    /// <summary>
    /// A crashed node's queues start again on the survivors by themselves (remembered entities): the
    /// cluster has no workers and nobody sends the queues anything from the crash until they run
    /// elsewhere. Then a worker node joins and every job, the delayed ones too, runs once.
    /// </summary>
    [Theory]
    [InlineData("a node that is not the oldest")]
    [InlineData("the oldest node (the coordinator's)")]
    public async Task A_crashed_nodes_queues_start_again_on_the_survivors_by_themselves_and_their_delayed_jobs_run(string which)
    {
        var options = Options(queueRole: "queues", workerRole: "workers");
        var a = await StartNode("a", null, ["queues"], options);
        var b = await StartNode("b", a, ["queues"], options);
        var c = await StartNode("c", a, ["queues"], options);
        await Until(() => SpreadOver(a, b, c), "the queues to spread over three nodes", Failover);

        // The oldest is a; of the others, the one with more queues.
        var victim = which.StartsWith("the oldest", StringComparison.Ordinal) ? a : (await QueuesOn(b)).Count >= (await QueuesOn(c)).Count ? b : c;
        Assert.True(Cluster.Get(a.System).State.Members.MinBy(m => m, Member.AgeOrdering)!.Address == a.Address, "a is the oldest");
        var survivors = new[] { a, b, c }.Where(n => n != victim).ToArray();
        var moving = await QueuesOn(victim);
        Assert.NotEmpty(moving);

        // Ready jobs on every queue; on each of the victim's queues a job due 10 s from now.
        var pushed = new List<string>();
        foreach (var queue in Queues)
        {
            for (var i = 0; i < 20; i++)
            {
                Assert.IsType<Pushed>(await survivors[0].Client.PushAsync(Record(queue, $"{queue}-{i}")));
                pushed.Add($"{queue}-{i}");
            }
        }
        foreach (var queue in moving)
        {
            Assert.IsType<Pushed>(await survivors[0].Client.PushAsync(Later(queue, TestJobs.Payload("record"), TimeSpan.FromSeconds(10)) with { Id = $"{queue}-later" }));
            pushed.Add($"{queue}-later");
        }

        var crashedAt = Stopwatch.GetTimestamp();
        await victim.CrashAsync();
        _nodes.Remove(victim);
        await Until(async () => (await Placement(survivors)).SelectMany(p => p.Queues).ToHashSet().IsSupersetOf(moving),
            "the crashed node's queues to run on the survivors, with nothing sent to them", Failover,
            () => Describe(Placement(survivors).GetAwaiter().GetResult()));
        var restartedMs = Stopwatch.GetElapsedTime(crashedAt).TotalMilliseconds;
        output.WriteLine($"crashed {which} ({string.Join(",", moving)}): its queues ran on the survivors {restartedMs:F0} ms later; {Describe(await Placement(survivors))}");
        Assert.True(await SpreadOver(survivors), $"every queue runs on a survivor: {Describe(await Placement(survivors))}");

        // Workers join: every job runs once, the delayed ones when due.
        await StartNode("w", survivors[0], ["workers"], options);
        await Until(() => _finished.Select(r => r.JobId).ToHashSet().IsSupersetOf(pushed), "every job to run", Failover,
            () => $"not run: {string.Join(", ", pushed.Except(_finished.Select(r => r.JobId)).Take(10))}");
        Assert.All(_started.GroupBy(r => r.JobId), g => Assert.Single(g));
        var later = _finished.Where(r => r.JobId.EndsWith("-later", StringComparison.Ordinal)).ToArray();
        Assert.Equal(moving.Count, later.Length);
    }
}
