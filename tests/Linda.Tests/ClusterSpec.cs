using System.Collections.Concurrent;
using Akka.Actor;
using Akka.Cluster;
using Akka.Remote;
using Akka.Remote.Transport;
using Linda.Hosting;
using Linda.Tests.Infrastructure;
using Linda.Workers;
using Xunit;
using static Linda.JobQueue;
using static Linda.Tests.Infrastructure.Conditions;

namespace Linda.Tests;

/// <summary>
/// Several Linda nodes in one process, each a generic host with its own ActorSystem on a loopback
/// port, forming one cluster over a shared PostgreSQL journal. Cluster profile: Linda's fast failover
/// profile (hocon/failover-fast.conf) on every node; the queue's placement is Linda's default (sharded),
/// or LINDA_TEST_PLACEMENT's (see <see cref="LindaHost.TestPlacement"/>). A crash is <see cref="LindaHost.CrashAsync"/>:
/// the ActorSystem stops without leaving, so the others only see it go silent; a graceful leave is
/// stopping the host (coordinated shutdown).
/// </summary>
[Collection(DatabaseCollection.Name)]
public sealed class ClusterSpec(PostgresFixture postgres) : IAsyncLifetime
{
    private static readonly TimeSpan Failover = TimeSpan.FromSeconds(90);

    private readonly List<LindaHost> _nodes = [];
    private readonly ConcurrentQueue<Run> _started = new();
    private readonly ConcurrentQueue<Run> _finished = new();
    private string _database = "";

    /// <summary>One handler run: which job, on which node, under which lease.</summary>
    private sealed record Run(string JobId, string Node, int Attempt, long Token);

    public async Task InitializeAsync() => _database = await postgres.Server.CreateDatabaseAsync();

    public async Task DisposeAsync()
    {
        foreach (var node in Enumerable.Reverse(_nodes))
            await node.DisposeAsync();
    }

    private LindaOptions Options(string? queueRole = null, string? workerRole = null) => new()
    {
        Queues = ["jobs"],
        WorkerNum = 2,
        QueueRole = queueRole,
        WorkerRole = workerRole,
        ConnectionString = _database,
        ProviderName = PostgresStore.Provider,
        FailoverProfile = FailoverProfile.Fast,
        // Far beyond every bound here: a job that runs again did so because its holder was seen to
        // die, never because its lease ran out.
        DefaultTimeToRun = TimeSpan.FromMinutes(10),
        RetryBackoffMin = TimeSpan.FromMilliseconds(50),
        RetryBackoffMax = TimeSpan.FromMilliseconds(200),
    };

    /// <summary>
    /// Starts a node whose workers run class <c>record</c> (taking <paramref name="work"/>, noting
    /// where each run started and finished) and whatever else <paramref name="handlers"/> adds.
    /// </summary>
    private async Task<LindaHost> StartNode(string name, LindaHost? seed, TimeSpan work = default, Action<string, JobHandlers>? handlers = null,
        string[]? roles = null, LindaOptions? options = null, string? hocon = null)
    {
        var node = await LindaHost.StartAsync(options ?? Options(), h =>
        {
            h.Register("record", async ctx =>
            {
                var run = new Run(ctx.JobId, name, ctx.Attempt, ctx.Reserved.Token);
                _started.Enqueue(run);
                if (work > TimeSpan.Zero)
                    await Task.Delay(work, ctx.CancellationToken);
                _finished.Enqueue(run);
            });
            handlers?.Invoke(name, h);
        }, seed?.Address, roles, hocon: hocon);
        _nodes.Add(node);
        return node;
    }

    private static Push Record(string id) => TestJobs.Push(id, payload: TestJobs.Payload("record"));

    private static async Task<QueueStats> EmptyQueue(LindaHost node)
    {
        IReply? last = null;
        try
        {
            return await Eventually(async () => (last = await node.Client.GetStatsAsync("jobs")) is QueueStats { Jobs: 0 } s ? s : null,
                "the queue to be empty", Failover);
        }
        catch (TimeoutException e)
        {
            var state = await node.Client.Queue("jobs").Ask<JobQueueSnapshot>(JobQueueActor.InspectState.Instance, TimeSpan.FromSeconds(10));
            var left = string.Join("; ", state.Jobs.Take(5).Select(j => $"{j.Job.Id} {j.State} holder={j.Holder} attempts={j.Attempts} error={j.LastError}"));
            throw new TimeoutException($"{e.Message}; last stats: {last}; left: {left}", e);
        }
    }

    /// <summary>Whether the queue runs on <paramref name="node"/> (as a singleton or a sharded entity).</summary>
    private static Task<bool> HostsQueue(LindaHost node) => node.HostsAsync("jobs");

    /// <summary>
    /// The first node, with the queue running on it before any other node joins: the queue's node, the
    /// one these specs crash or stop (the singleton is on the oldest node; one sharded queue stays
    /// where it started, its one shard needs no rebalance).
    /// </summary>
    private async Task<LindaHost> StartQueueNode(TimeSpan work = default, Action<string, JobHandlers>? handlers = null, string? hocon = null)
    {
        var a = await StartNode("a", null, work, handlers, hocon: hocon);
        await Until(() => HostsQueue(a), "the queue to run on the first node");
        return a;
    }

    [Fact]
    public async Task Jobs_pushed_from_all_three_nodes_complete_once_and_every_nodes_workers_take_part()
    {
        var a = await StartNode("a", null);
        var b = await StartNode("b", a);
        var c = await StartNode("c", a);
        LindaHost[] nodes = [a, b, c];

        var pushes = Enumerable.Range(0, 5000).Select(i => nodes[i % 3].Client.PushAsync(Record($"job-{i}")));
        Assert.All(await Task.WhenAll(pushes), r => Assert.IsType<Pushed>(r));
        await Until(() => _finished.Count >= 5000, "5,000 jobs to run", Failover);
        var stats = await EmptyQueue(b);

        Assert.Equal(5000, stats.TotalJobs);
        var runs = _started.GroupBy(r => r.JobId).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(5000, runs.Count);
        Assert.All(runs, kv => Assert.Equal(1, kv.Value));
        var perNode = _started.GroupBy(r => r.Node).ToDictionary(g => g.Key, g => g.Count());
        Assert.True(perNode.Count == 3, "runs per node: " + string.Join(", ", perNode.Select(kv => $"{kv.Key}={kv.Value}")));
    }

    [Fact]
    public async Task A_crash_of_the_queues_node_under_load_loses_no_acknowledged_job_and_reruns_only_its_leases()
    {
        // A slow job leased by a worker on the node that will crash: its token must be refused later.
        var slowOnA = new TaskCompletionSource<Run>(TaskCreationOptions.RunContinuationsAsynchronously);
        var slowElsewhere = new TaskCompletionSource<Run>(TaskCreationOptions.RunContinuationsAsynchronously);
        var finishSlow = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void Slow(string node, JobHandlers h) => h.Register("slow", async ctx =>
        {
            var run = new Run(ctx.JobId, node, ctx.Attempt, ctx.Reserved.Token);
            (node == "a" ? slowOnA : slowElsewhere).TrySetResult(run);
            await finishSlow.Task.WaitAsync(ctx.CancellationToken);
        });

        var a = await StartQueueNode(TimeSpan.FromMilliseconds(2), Slow);
        Assert.IsType<Pushed>(await a.Client.PushAsync(new Push("jobs", JobPayload.Create("slow")) { Id = "slow" }));
        var leaseOnA = await slowOnA.Task.WaitAsync(Bound);
        var b = await StartNode("b", a, TimeSpan.FromMilliseconds(2), Slow);
        var c = await StartNode("c", a, TimeSpan.FromMilliseconds(2), Slow);
        Assert.True(await HostsQueue(a), "the first node hosts the queue");

        var acknowledged = new ConcurrentDictionary<string, bool>();
        using var stop = new CancellationTokenSource();
        var producers = Task.WhenAll(b.ProduceAsync((_, id) => Record(id), "b", acknowledged, stop.Token), c.ProduceAsync((_, id) => Record(id), "c", acknowledged, stop.Token));
        await Until(() => acknowledged.Count >= 600 && _finished.Count >= 300, "jobs to flow");

        await a.CrashAsync();
        var atCrash = acknowledged.Count;
        await Until(() => acknowledged.Count >= atCrash + 400, "pushes to be acknowledged again after the crash", Failover);
        await stop.CancelAsync();
        await producers;

        // The slow job's lease died with its node: it runs again elsewhere, and the old token is refused.
        var again = await slowElsewhere.Task.WaitAsync(Failover);
        // Attempt 2, or later: a reserve a survivor's worker sent toward the dead node and asked again
        // for may still be answered with the job, which that worker gives back (an attempt) unrun.
        Assert.True(again.Attempt >= 2, $"the slow job ran again as attempt {again.Attempt}");
        Assert.True(await HostsQueue(b) || await HostsQueue(c), "the queue moved to a surviving node");
        var stale = await b.Client.SendAsync("jobs", new Complete("slow", leaseOnA.Token));
        Assert.IsType<StaleLease>(stale);
        Assert.IsType<JobView>(await c.Client.GetJobAsync("jobs", "slow")); // still there, leased to the new worker
        finishSlow.SetResult();

        await EmptyQueue(b);
        var finished = _finished.Select(r => r.JobId).ToHashSet();
        var lost = acknowledged.Keys.Where(id => !finished.Contains(id)).ToArray();
        Assert.True(lost.Length == 0, $"{lost.Length} acknowledged jobs never completed, e.g. {string.Join(", ", lost.Take(5))}");

        // Only a lease on the crashed node makes a job run again: no job starts twice on the survivors.
        var twiceOnSurvivors = _started.Where(r => r.Node != "a").GroupBy(r => r.JobId).Where(g => g.Count() > 1).Select(g => g.Key).ToArray();
        Assert.True(twiceOnSurvivors.Length == 0, $"ran twice on surviving nodes: {string.Join(", ", twiceOnSurvivors.Take(10))}");
        var rerun = _started.GroupBy(r => r.JobId).Where(g => g.Count() > 1).ToArray();
        Assert.All(rerun, g => Assert.Contains(g, r => r.Node == "a"));
    }

    [Fact]
    public async Task A_schedule_makes_each_occurrence_once_when_the_queues_node_crashes_right_after_a_firing()
    {
        var runs = new ConcurrentQueue<Run>();
        void Every(string node, JobHandlers h) => h.Register("tick", ctx =>
        {
            runs.Enqueue(new Run(ctx.JobId, node, ctx.Attempt, ctx.Reserved.Token));
            return Task.CompletedTask;
        });
        var a = await StartQueueNode(handlers: Every);
        var b = await StartNode("b", a, handlers: Every);
        var c = await StartNode("c", a, handlers: Every);
        Assert.True(await HostsQueue(a), "the first node hosts the queue");
        // Every second; runs missed during the failover are all made (RunAll), so every occurrence has one job.
        Assert.IsType<ScheduleSaved>(await b.Client.AddOrUpdateScheduleAsync("jobs",
            new AddOrUpdateSchedule("tick", "* * * * * *", JobPayload.Create("tick")) { Misfire = Misfire.RunAll }));
        await Until(() => runs.Count >= 3, "the schedule to run");

        var seen = runs.Count;
        await Until(() => runs.Count > seen, "a firing"); // right after one
        await a.CrashAsync();
        await Until(async () => await HostsQueue(b) || await HostsQueue(c), "the queue to move to a surviving node", Failover);
        var afterFailover = runs.Count;
        await Until(() => runs.Count >= afterFailover + 3, "the schedule to run again after the failover", Failover);
        Assert.IsType<ScheduleRemoved>(await b.Client.RemoveScheduleAsync("jobs", "tick"));
        await EmptyQueue(b);

        // One job per occurrence: no occurrence's job ran twice as a first attempt (a second attempt is
        // the rerun of a lease the crash took), and the occurrences run without a gap.
        var firstAttempts = runs.Where(r => r.Attempt == 1).GroupBy(r => r.JobId).Where(g => g.Count() > 1).Select(g => g.Key).ToArray();
        Assert.True(firstAttempts.Length == 0, $"occurrences made twice: {string.Join(", ", firstAttempts)}");
        var occurrences = runs.Select(r => r.JobId).Distinct()
            .Select(id => DateTimeOffset.ParseExact(id["tick/".Length..], JobQueueState.RunIdTimeFormat, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal))
            .Order().ToArray();
        var expected = Enumerable.Range(0, (int)(occurrences[^1] - occurrences[0]).TotalSeconds + 1).Select(i => occurrences[0].AddSeconds(i)).ToArray();
        Assert.Equal(expected, occurrences);
    }

    private sealed record Tick(int N);

    [Fact]
    public async Task Typed_pushes_in_flight_when_the_queues_node_crashes_are_sent_again_and_each_is_in_the_queue_once()
    {
        void Ticks(string node, JobHandlers h) => h.Register<Tick>((_, ctx) =>
        {
            _finished.Enqueue(new Run(ctx.JobId, node, ctx.Attempt, ctx.Reserved.Token));
            return Task.CompletedTask;
        });
        var a = await StartQueueNode(handlers: Ticks);
        var b = await StartNode("b", a, handlers: Ticks);
        var c = await StartNode("c", a, handlers: Ticks);
        Assert.True(await HostsQueue(a), "the first node hosts the queue");

        var ids = new ConcurrentBag<string>();
        var failures = new ConcurrentBag<Exception>();
        var pushed = 0;
        using var stop = new CancellationTokenSource();
        async Task Lane(LindaHost node)
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    ids.Add(await node.Client.PushAsync(new Tick(Interlocked.Increment(ref pushed))));
                }
                catch (Exception e)
                {
                    failures.Add(e);
                }
            }
        }
        var resentBefore = Linda.Hosting.TypedPush.Resent;
        var lanes = Task.WhenAll(new[] { b, c, b, c }.Select(Lane));
        await Until(() => ids.Count >= 400, "typed pushes to flow");

        await a.CrashAsync();
        var atCrash = ids.Count;
        await Until(() => ids.Count >= atCrash + 400, "typed pushes to be acknowledged again after the crash", Failover);
        await stop.CancelAsync();
        await lanes;

        // Every push in flight at the crash was acknowledged in the end (sent again when its answer was
        // lost: how many were depends on the moment of the crash, TypedPushSpec checks the rule itself).
        Assert.True(failures.IsEmpty, $"pushes failed: {string.Join("; ", failures.Take(3).Select(f => f.Message))}");
        Assert.True(Linda.Hosting.TypedPush.Resent >= resentBefore);
        Assert.Equal(ids.Count, ids.Distinct().Count());
        await EmptyQueue(b);
        var finished = _finished.Select(r => r.JobId).ToHashSet();
        var lost = ids.Where(id => !finished.Contains(id)).ToArray();
        Assert.True(lost.Length == 0, $"{lost.Length} acknowledged typed pushes never ran, e.g. {string.Join(", ", lost.Take(5))}");
        Assert.Equal(ids.Count, finished.Count); // nothing ran that was not acknowledged: no job was made twice
    }

    [Fact]
    public async Task A_graceful_leave_of_the_queues_node_hands_the_queue_over_and_runs_no_job_twice()
    {
        var a = await StartQueueNode(TimeSpan.FromMilliseconds(2));
        var b = await StartNode("b", a, TimeSpan.FromMilliseconds(2));
        var c = await StartNode("c", a, TimeSpan.FromMilliseconds(2));
        Assert.True(await HostsQueue(a), "the first node hosts the queue");

        var acknowledged = new ConcurrentDictionary<string, bool>();
        using var stop = new CancellationTokenSource();
        var producers = Task.WhenAll(b.ProduceAsync((_, id) => Record(id), "b", acknowledged, stop.Token), c.ProduceAsync((_, id) => Record(id), "c", acknowledged, stop.Token));
        await Until(() => acknowledged.Count >= 600 && _finished.Count(r => r.Node == "a") >= 50, "jobs to flow on every node");

        _nodes.Remove(a);
        await a.DisposeAsync(); // coordinated shutdown: drain a's workers, leave, hand the queue over
        var atLeave = acknowledged.Count;
        await Until(() => acknowledged.Count >= atLeave + 400, "pushes to be acknowledged after the hand-over", Failover);
        await stop.CancelAsync();
        await producers;

        await EmptyQueue(b);
        Assert.True(await HostsQueue(b) || await HostsQueue(c), "the queue moved to a remaining node");
        var finished = _finished.Select(r => r.JobId).ToHashSet();
        Assert.All(acknowledged.Keys, id => Assert.Contains(id, finished));
        var twice = _started.GroupBy(r => r.JobId).Where(g => g.Count() > 1).Select(g => $"{g.Key} on {string.Join("+", g.Select(r => r.Node))}").ToArray();
        Assert.True(twice.Length == 0, $"ran twice: {string.Join(", ", twice.Take(10))}");
    }

    [Fact]
    public async Task A_crash_of_a_worker_only_node_puts_its_leased_jobs_back_in_ready_once_it_is_downed()
    {
        var started = new TaskCompletionSource<Run>(TaskCreationOptions.RunContinuationsAsynchronously);
        var options = Options(queueRole: "queues", workerRole: "workers");
        var a = await StartNode("a", null, roles: ["queues"], options: options);
        var b = await StartNode("b", a, roles: ["queues"], options: options);
        var w = await StartNode("w", a, roles: ["workers"], options: options, handlers: (node, h) => h.Register("block", async ctx =>
        {
            started.TrySetResult(new Run(ctx.JobId, node, ctx.Attempt, ctx.Reserved.Token));
            await Task.Delay(Timeout.Infinite, ctx.CancellationToken);
        }));

        Assert.IsType<Pushed>(await b.Client.PushAsync(new Push("jobs", JobPayload.Create("block")) { Id = "held", TimeToRun = TimeSpan.FromHours(1) }));
        var run = await started.Task.WaitAsync(Bound);
        Assert.Equal(("held", "w"), (run.JobId, run.Node));
        Assert.Equal(JobState.Reserved, Assert.IsType<JobView>(await a.Client.GetJobAsync("jobs", "held")).State);

        await w.CrashAsync();
        // The lease has an hour to run; it is back in Ready as soon as the node is downed.
        var view = await Eventually(async () => await a.Client.GetJobAsync("jobs", "held") is JobView { State: JobState.Ready } v ? v : null,
            "the job to be Ready again", Failover);
        Assert.True(view.LastError?.Contains("died") == true, $"last error: {view.LastError}");
        Assert.IsType<NotReserved>(await a.Client.SendAsync("jobs", new Complete("held", run.Token)));
    }

    /// <summary>Remoting through Akka's throttler adapter, so a test can cut the links between nodes.</summary>
    private const string Cuttable = "akka.remote.dot-netty.tcp.applied-adapters = [trttl]";

    /// <summary>Drops everything between <paramref name="a"/> and <paramref name="b"/>, both ways, on both sides.</summary>
    private static async Task Cut(LindaHost a, LindaHost b)
    {
        Assert.True(await Transport(a).ManagementCommand(new SetThrottle(b.Address, ThrottleTransportAdapter.Direction.Both, Blackhole.Instance)));
        Assert.True(await Transport(b).ManagementCommand(new SetThrottle(a.Address, ThrottleTransportAdapter.Direction.Both, Blackhole.Instance)));
    }

    private static RemoteTransport Transport(LindaHost node) => ((IRemoteActorRefProvider)((ExtendedActorSystem)node.System).Provider).Transport;

    [Fact]
    public async Task In_a_partition_the_minority_side_stops_serving_and_the_majority_side_takes_the_queue_over()
    {
        var a = await StartQueueNode(TimeSpan.FromMilliseconds(2), hocon: Cuttable);
        var b = await StartNode("b", a, TimeSpan.FromMilliseconds(2), hocon: Cuttable);
        var c = await StartNode("c", a, TimeSpan.FromMilliseconds(2), hocon: Cuttable);
        Assert.True(await HostsQueue(a), "the first node hosts the queue");

        // Pushes go on from both sides of the partition, through it and after it.
        var acknowledged = new ConcurrentDictionary<string, bool>();
        using var stop = new CancellationTokenSource();
        var producers = Task.WhenAll(a.ProduceAsync((_, id) => Record(id), "a", acknowledged, stop.Token), b.ProduceAsync((_, id) => Record(id), "b", acknowledged, stop.Token));
        await Until(() => acknowledged.Count >= 300 && _finished.Count >= 100, "jobs to flow");

        await Cut(a, b);
        await Cut(a, c);
        // Keep-majority: b and c down a; a, alone, downs itself, and its node shuts down.
        await a.System.WhenTerminated.WaitAsync(Failover);
        await Until(() => Cluster.Get(b.System).State.Members.Select(m => m.Status).SequenceEqual([MemberStatus.Up, MemberStatus.Up]),
            "the majority side to be two members, both Up", Failover);
        var atDown = acknowledged.Count(kv => kv.Key.StartsWith("b-", StringComparison.Ordinal));
        await Until(() => acknowledged.Count(kv => kv.Key.StartsWith("b-", StringComparison.Ordinal)) >= atDown + 300, "the majority side to serve pushes", Failover);
        await stop.CancelAsync();
        await producers;
        Assert.True(await HostsQueue(b) || await HostsQueue(c), "the queue moved to the majority side");

        // Every push either side acknowledged, before or during the partition, is there and runs.
        await EmptyQueue(b);
        var finished = _finished.Select(r => r.JobId).ToHashSet();
        var lost = acknowledged.Keys.Where(id => !finished.Contains(id)).ToArray();
        Assert.True(lost.Length == 0, $"{lost.Length} acknowledged jobs never completed, e.g. {string.Join(", ", lost.Take(5))}");
    }
}
