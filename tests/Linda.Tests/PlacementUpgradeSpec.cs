using Akka.Actor;
using Linda.Hosting;
using Linda.Tests.Infrastructure;
using Xunit;
using static Linda.JobQueue;
using static Linda.Tests.Infrastructure.Conditions;

namespace Linda.Tests;

/// <summary>
/// The upgrade path from the singleton placement to the sharded one: a node writes its queues with
/// <see cref="QueuePlacement.Singleton"/>, stops, and a node on <see cref="QueuePlacement.Sharded"/>
/// starts on the same journal (a SQLite file, and PostgreSQL) and finds every job as it was. The
/// persistence ids are the same for both placements; the sharded node starts each configured queue by
/// itself (nothing sends it a command). One-node clusters, Akka's default cluster settings; no workers,
/// so the jobs stay where they are.
/// </summary>
[Collection(DatabaseCollection.Name)]
public sealed class PlacementUpgradeSpec(PostgresFixture postgres) : IDisposable
{
    private static readonly string[] Queues = ["mail", "reports"];
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public Task A_sqlite_file_written_by_the_singleton_placement_starts_on_sharding_with_every_job() =>
        Upgrade(o => o.SqlitePath = _folder.File("linda.db"));

    [Fact]
    public async Task A_postgres_journal_written_by_the_singleton_placement_starts_on_sharding_with_every_job()
    {
        var database = await postgres.Server.CreateDatabaseAsync();
        await Upgrade(o =>
        {
            o.ConnectionString = database;
            o.ProviderName = PostgresStore.Provider;
        });
    }

    private static LindaOptions Options(QueuePlacement placement, Action<LindaOptions> store)
    {
        var options = new LindaOptions { Queues = Queues, Placement = placement, WorkerRole = "workers" }; // this node has no workers
        store(options);
        return options;
    }

    private static async Task Upgrade(Action<LindaOptions> store)
    {
        var ids = new List<(string Queue, string Id)>();
        var before = new Dictionary<string, JobView>();
        ScheduleView[] schedules;
        var dueSoon = TimeSpan.FromSeconds(2);
        DateTimeOffset soonAt;

        await using (var old = await LindaHost.StartAsync(Options(QueuePlacement.Singleton, store)))
        {
            Assert.True(await old.HostsAsync("mail"), "the singleton runs on the only node");
            for (var i = 0; i < 50; i++)
                ids.Add(await Push(old, new Push("mail", TestJobs.Payload("send", i)) { Id = $"mail-{i}", Priority = (uint)(i % 3) }));
            for (var i = 0; i < 5; i++)
                ids.Add(await Push(old, Later("reports", TestJobs.Payload("report", i), TimeSpan.FromHours(1)) with { Id = $"later-{i}" }));
            soonAt = DateTimeOffset.UtcNow + dueSoon;
            ids.Add(await Push(old, Later("reports", TestJobs.Payload("report"), dueSoon) with { Id = "soon" }));
            Assert.IsType<ScheduleSaved>(await old.Client.AddOrUpdateScheduleAsync("reports", new AddOrUpdateSchedule("nightly", "0 2 * * *", TestJobs.Payload("report"))));

            // One job buried by its holder (an inbox), one deleted.
            var inbox = Inbox.Create(old.System);
            old.Client.Queue("mail").Tell(new Reserve(TimeSpan.Zero), inbox.Receiver);
            var reserved = Assert.IsType<Reserved>(await inbox.ReceiveAsync(Bound));
            Assert.IsType<Buried>(await old.Client.SendAsync("mail", new Bury(reserved.Job.Id, reserved.Token, "bad input")));
            Assert.IsType<Deleted>(await old.Client.DeleteAsync("mail", "mail-49"));

            foreach (var (queue, id) in ids)
            {
                if (await old.Client.GetJobAsync(queue, id) is JobView view)
                    before[id] = view;
            }
            schedules = Assert.IsType<ScheduleList>(await old.Client.GetSchedulesAsync("reports")).Schedules.ToArray();
        } // a graceful stop: the singletons finish their writes

        Assert.Equal(ids.Count - 1, before.Count);
        Assert.Equal(JobState.Buried, before.Values.Single(v => v.State == JobState.Buried).State);

        await using var upgraded = await LindaHost.StartAsync(Options(QueuePlacement.Sharded, store));
        // Both queues run as entities with no command sent to them, from their singleton journals.
        await Until(async () => (await upgraded.ShardedQueuesAsync()).SetEquals(Queues), "both queues to start as sharded entities by themselves");
        Assert.True(await upgraded.HostsAsync("mail"));

        foreach (var (queue, id) in ids)
        {
            var reply = await upgraded.Client.GetJobAsync(queue, id);
            if (!before.TryGetValue(id, out var was))
            {
                Assert.IsType<NotFound>(reply); // the deleted one
                continue;
            }
            var view = Assert.IsType<JobView>(reply);
            // The one due soon has become ready since (or is about to): time decides, nothing is written.
            if (id == "soon")
                Assert.Equal(was with { State = view.State, DueAt = view.DueAt, Delay = view.Delay }, view); // a ready job shows no due time; Delay: the time left, as of now
            else
                Assert.Equal(was, view);
        }
        await Until(async () => await upgraded.Client.GetJobAsync("reports", "soon") is JobView { State: JobState.Ready }, "the job due soon to be ready");
        Assert.True(DateTimeOffset.UtcNow >= soonAt);
        Assert.Equal(schedules, Assert.IsType<ScheduleList>(await upgraded.Client.GetSchedulesAsync("reports")).Schedules);

        var stats = Assert.IsType<QueueStats>(await upgraded.Client.GetStatsAsync("mail"));
        Assert.Equal((48, 1, 49, 50L), (stats.Ready, stats.Buried, stats.Jobs, stats.TotalJobs));
    }

    /// <summary>
    /// A rolling change of placement runs no queue twice: a sharded node that joins a singleton node's
    /// cluster serves no queue (the queues' coordinator runs on the oldest node, which has none), and
    /// the queue starts on it only once the singleton node has left, from the journal that node wrote.
    /// </summary>
    [Fact]
    public async Task In_a_rolling_change_a_sharded_node_starts_the_queues_only_once_the_last_singleton_node_is_gone()
    {
        var database = await postgres.Server.CreateDatabaseAsync();
        void Store(LindaOptions o)
        {
            o.ConnectionString = database;
            o.ProviderName = PostgresStore.Provider;
            o.FailoverProfile = FailoverProfile.Fast;
        }
        var old = await LindaHost.StartAsync(Options(QueuePlacement.Singleton, Store));
        await using var upgraded = await LindaHost.StartAsync(Options(QueuePlacement.Sharded, Store), seed: old.Address);
        try
        {
            Assert.True(await old.HostsAsync("mail"));
            for (var i = 0; i < 20; i++)
                await Push(old, new Push("mail", TestJobs.Payload("send", i)) { Id = $"old-{i}" });

            // The sharded node finds no coordinator: its push waits in its region, unanswered.
            await Assert.ThrowsAsync<AskTimeoutException>(() =>
                upgraded.Client.Queue("mail").Ask<IReply>(new Push("mail", TestJobs.Payload("send")) { Id = "waited" }, TimeSpan.FromSeconds(3)));
            Assert.Empty(await upgraded.ShardedQueuesAsync());
            Assert.True(await old.HostsAsync("mail"), "the singleton still runs on the old node");
        }
        finally
        {
            await old.DisposeAsync(); // leaves: its singletons stop once written, then it is removed
        }

        await Until(async () => (await upgraded.ShardedQueuesAsync()).SetEquals(Queues), "the queues to start on the sharded node", Failover);
        for (var i = 0; i < 20; i++)
            Assert.IsType<JobView>(await upgraded.Client.GetJobAsync("mail", $"old-{i}"));
        // The push that waited in the region was delivered once the queue ran.
        Assert.IsType<JobView>(await upgraded.Client.GetJobAsync("mail", "waited"));
        Assert.Equal(21, Assert.IsType<QueueStats>(await upgraded.Client.GetStatsAsync("mail")).Jobs);
    }

    private static readonly TimeSpan Failover = TimeSpan.FromSeconds(90);

    private static async Task<(string, string)> Push(LindaHost node, Push push)
    {
        Assert.IsType<Pushed>(await node.Client.PushAsync(push));
        return (push.Queue, push.Id!);
    }
}
