using System.Collections.Concurrent;
using Linda.Hosting;
using Linda.Tests.Infrastructure;
using Xunit;
using static Linda.JobQueue;
using static Linda.Tests.Infrastructure.Conditions;

namespace Linda.Tests.Partitions;

/// <summary>
/// A partitioned queue end to end on real nodes (<see cref="LindaHost"/>, the sharded placement): one
/// node on an SQLite file, and three on one PostgreSQL journal with the fast failover profile. Each
/// partition is a queue of its own, asked directly as <c>QUEUE~i</c> to see where jobs went.
/// </summary>
[Collection(DatabaseCollection.Name)]
public sealed class PartitionedQueueSpec(PostgresFixture postgres) : IAsyncLifetime
{
    private const string Queue = "orders";
    private readonly TempFolder _folder = new("linda-partitions");
    private readonly List<LindaHost> _nodes = [];
    private readonly ConcurrentQueue<(string Id, string Node)> _runs = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var node in Enumerable.Reverse(_nodes))
            await node.DisposeAsync();
        _folder.Dispose();
    }

    private async Task<LindaHost> Start(int partitions, int workers, string? connectionString = null, LindaHost? seed = null, string name = "a")
    {
        var options = new LindaOptions
        {
            Queues = [Queue],
            Partitions = new Dictionary<string, int> { [Queue] = partitions },
            Placement = QueuePlacement.Sharded,
            WorkerNum = Math.Max(workers, 1),
            WorkerRole = workers == 0 ? "no-node-has-this-role" : null, // no workers: the jobs stay where they were pushed
            DefaultTimeToRun = TimeSpan.FromMinutes(10),
        };
        if (connectionString is null)
            options.SqlitePath = _folder.File("linda.db");
        else
        {
            options.ConnectionString = connectionString;
            options.ProviderName = PostgresStore.Provider;
            options.FailoverProfile = FailoverProfile.Fast;
        }
        var node = await LindaHost.StartAsync(options, h => h.Register("record", ctx =>
        {
            _runs.Enqueue((ctx.JobId, name));
            return Task.CompletedTask;
        }), seed?.Address, hocon: "linda.sharding.rebalance-interval = 1s");
        _nodes.Add(node);
        return node;
    }

    private static Push Job(string? id = null) => new(Queue, TestJobs.Payload("record")) { Id = id };

    private static async Task<string> PushAsync(LindaHost node, Push push) =>
        Assert.IsType<Pushed>(await node.Client.PushAsync(push)).JobId;

    private static async Task<QueueStats> StatsOf(LindaHost node, string queue) =>
        Assert.IsType<QueueStats>(await node.Client.GetStatsAsync(queue));

    [Fact]
    public async Task Pushes_spread_over_the_partitions_ids_name_them_and_the_queue_answers_for_them_all()
    {
        var node = await Start(partitions: 3, workers: 0);
        Assert.Equal(["orders~0", "orders~1", "orders~2"], node.Client.PartitionsOf(Queue));
        Assert.Empty(node.Client.PartitionsOf("other"));

        // In turn: 30 each, and each id names the partition that has it.
        var ids = new List<string>();
        for (var i = 0; i < 90; i++)
            ids.Add(await PushAsync(node, Job()));
        for (var p = 0; p < 3; p++)
        {
            var stats = await StatsOf(node, QueuePartitions.NameOf(Queue, p));
            Assert.Equal((30, 30L), (stats.Ready, stats.TotalJobs));
            Assert.Equal(30, ids.Count(id => QueuePartitions.NamedBy(id, 3) == p));
        }

        // By key: every job of a key in the key's partition, an id of its own or not.
        var keyed = QueuePartitions.OfKey("tenant-7", 3);
        var own = Enumerable.Range(0, 100).Select(i => $"own-{i}").First(id => QueuePartitions.OfKey(id, 3) != keyed);
        for (var i = 0; i < 9; i++)
            await PushAsync(node, Job() with { ConcurrencyKey = "tenant-7" });
        Assert.Equal(own, await PushAsync(node, Job(own) with { ConcurrencyKey = "tenant-7" }));
        Assert.Equal(40, (await StatsOf(node, QueuePartitions.NameOf(Queue, keyed))).Ready);

        // The queue adds its partitions up, and finds a job by any id.
        var total = await StatsOf(node, Queue);
        Assert.Equal((Queue, 100, 100L), (total.Queue, total.Ready, total.TotalJobs));
        Assert.Equal(ids[41], Assert.IsType<JobView>(await node.Client.GetJobAsync(Queue, ids[41])).Job.Id);
        var ownView = Assert.IsType<JobView>(await node.Client.GetJobAsync(Queue, own)); // not where its id hashes to
        Assert.Equal(QueuePartitions.NameOf(Queue, keyed), ownView.Job.Queue);
        Assert.IsType<NotFound>(await node.Client.GetJobAsync(Queue, "nobody"));
        Assert.IsType<NotFound>(await node.Client.GetJobAsync(Queue, "p1.999"));
        Assert.IsType<Deleted>(await node.Client.DeleteAsync(Queue, own));
        Assert.IsType<NotFound>(await node.Client.GetJobAsync(Queue, own));

        // A peek shows the most urgent of all partitions.
        var urgent = await PushAsync(node, Job() with { Priority = 0 });
        Assert.Equal(urgent, Assert.IsType<JobView>(await node.Client.SendAsync(Queue, PeekReady.Instance)).Job.Id);

        // A listing pages through every partition: each job once.
        var listed = new List<string>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var page = Assert.IsType<JobList>(await node.Client.SendAsync(Queue, new ListJobs(JobState.Ready) { After = cursor, Limit = 7 }));
            Assert.Equal(100, page.Total);
            Assert.True(page.Jobs.Count <= 7);
            listed.AddRange(page.Jobs.Select(j => j.Job.Id));
            cursor = page.Next;
            Assert.True(++pages < 100, "the listing never ends");
        }
        while (cursor is not null);
        Assert.Equal(100, listed.Count);
        Assert.Equal(100, listed.Distinct().Count());
        Assert.IsType<Rejected>(await node.Client.SendAsync(Queue, new ListJobs(JobState.Ready) { After = "9:x" }));

        // Pause and resume reach every partition.
        Assert.IsType<Paused>(await node.Client.PauseAsync(Queue, TimeSpan.FromMinutes(5)));
        for (var p = 0; p < 3; p++)
            Assert.NotNull((await StatsOf(node, QueuePartitions.NameOf(Queue, p))).PausedUntil);
        Assert.NotNull((await StatsOf(node, Queue)).PausedUntil);
        Assert.IsType<Resumed>(await node.Client.ResumeAsync(Queue));
        Assert.Null((await StatsOf(node, Queue)).PausedUntil);
    }

    [Fact]
    public async Task Workers_pull_from_every_partition_and_none_starves()
    {
        var node = await Start(partitions: 4, workers: 3);
        // Most jobs in one partition (one key), a few in each of the others: all run, each once.
        var pushed = new List<string>();
        for (var i = 0; i < 200; i++)
            pushed.Add(await PushAsync(node, Job() with { ConcurrencyKey = i < 160 ? "big" : null }));
        await Eventually(async () => await StatsOf(node, Queue) is { Jobs: 0 } s ? s : null, "every job to run", Bound);
        await Until(() => _runs.Count >= pushed.Count, "every run to be recorded", Bound);
        Assert.Equal(pushed.Order(StringComparer.Ordinal), _runs.Select(r => r.Id).Order(StringComparer.Ordinal));
        for (var p = 0; p < 4; p++)
        {
            var stats = await StatsOf(node, QueuePartitions.NameOf(Queue, p));
            Assert.Equal(0, stats.Jobs);
            Assert.True(stats.Commands.GetValueOrDefault("complete") == stats.TotalJobs,
                $"partition {p}: {stats.TotalJobs} jobs, {stats.Commands.GetValueOrDefault("complete")} completes ({string.Join(", ", stats.Commands)})");
        }

        // An idle pool still serves a job pushed later into any partition.
        var late = await PushAsync(node, Job() with { ConcurrencyKey = "late" });
        await Until(() => _runs.Any(r => r.Id == late), "the late job to run", Bound);
    }

    [Fact]
    public async Task Three_nodes_share_a_partitioned_queue_and_a_crash_moves_its_partitions()
    {
        var database = await postgres.Server.CreateDatabaseAsync();
        var a = await Start(partitions: 6, workers: 2, database, name: "a");
        var b = await Start(partitions: 6, workers: 2, database, a, "b");
        var c = await Start(partitions: 6, workers: 2, database, a, "c");
        var nodes = new[] { a, b, c };
        var names = Enumerable.Range(0, 6).Select(i => QueuePartitions.NameOf(Queue, i)).ToHashSet();
        await Until(async () =>
        {
            var placed = await Task.WhenAll(nodes.Select(n => n.ShardedQueuesAsync()));
            return placed.All(p => p.Overlaps(names)) && placed.SelectMany(p => p).Where(names.Contains).Count() == 6;
        }, "the six partitions to spread over the three nodes", TimeSpan.FromSeconds(90));

        var pushed = new List<string>();
        for (var i = 0; i < 300; i++)
            pushed.Add(await PushAsync(nodes[i % 3], Job()));
        await Until(() => pushed.All(id => _runs.Any(r => r.Id == id)), "every job to run", TimeSpan.FromSeconds(90));
        Assert.Equal(3, _runs.Select(r => r.Node).Distinct().Count());
        await Eventually(async () => await a.Client.GetStatsAsync(Queue) is QueueStats { Jobs: 0 } s ? s : null, "every completion to be written", TimeSpan.FromSeconds(90));

        // c crashes: its partitions start again on a and b, and take pushes again.
        var onC = (await c.ShardedQueuesAsync()).Where(names.Contains).ToArray();
        await c.CrashAsync();
        var after = new List<string>();
        foreach (var partition in onC)
        {
            var index = int.Parse(partition[(partition.IndexOf('~') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
            // A key placed in that partition.
            var key = Enumerable.Range(0, 1000).Select(i => $"k{i}").First(k => QueuePartitions.OfKey(k, 6) == index);
            after.Add(await Eventually(async () =>
            {
                try
                {
                    return await a.Client.PushAsync(Job($"after-{index}") with { ConcurrencyKey = key }) is Pushed or AlreadyExists ? $"after-{index}" : null;
                }
                catch (Akka.Actor.AskTimeoutException)
                {
                    return null; // the partition was still on its way to a survivor; pushed again with the same id
                }
            }, $"a push into {partition} to be answered after the crash", TimeSpan.FromSeconds(90)));
        }
        await Until(() => after.All(id => _runs.Any(r => r.Id == id)), "the jobs pushed after the crash to run", TimeSpan.FromSeconds(90));
        var twice = _runs.GroupBy(r => r.Id).Where(g => g.Count() > 1).Select(g => g.Key).ToArray();
        Assert.True(twice.Length == 0, $"ran twice: {string.Join(", ", twice.Take(10))}");
    }
}
