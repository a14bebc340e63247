using Akka.Actor;
using Linda.Tests.Infrastructure;
using Xunit;
using static Linda.JobQueue;

namespace Linda.Tests;

/// <summary>Recovery on Linda's default store, a SQLite file.</summary>
[Collection(DatabaseCollection.Name)]
public sealed class SqliteRecoverySpec : RecoverySpec
{
    private readonly TempFolder _folder = new();

    public SqliteRecoverySpec() => Db = new SqliteStore(_folder.File("linda.db"));

    protected override IQueueStore Db { get; }

    public override void Dispose() => _folder.Dispose();
}

/// <summary>Recovery on PostgreSQL: a database of its own on the collection's throwaway server.</summary>
[Collection(DatabaseCollection.Name)]
public sealed class PostgresRecoverySpec(PostgresFixture postgres) : RecoverySpec
{
    protected override IQueueStore Db { get; } = new PostgresStore(postgres.Server.CreateDatabaseAsync().GetAwaiter().GetResult());
}

/// <summary>
/// Everything acknowledged survives a restart on the same database: stop the ActorSystem, start a
/// new one, and the queue is as it was (leases aside, whose holders died with the old system).
/// One set of specs, run on each store.
/// </summary>
public abstract class RecoverySpec : IDisposable
{
    private readonly ManualClock _clock = new();

    protected abstract IQueueStore Db { get; }

    public virtual void Dispose()
    {
    }

    private static Push Job(string id, uint priority = Linda.Job.DefaultPriority) => TestJobs.Push(id, priority, payload: TestJobs.Payload("work", id));

    /// <summary>An actor that holds leases for the test and dies with its ActorSystem.</summary>
    private sealed class Holder : ReceiveActor
    {
        public Holder(IActorRef forwardTo) => ReceiveAny(m => forwardTo.Forward(m));
    }

    private static async Task<Reserved> ReserveAs(QueueNode node, string holderName)
    {
        var inbox = Inbox.Create(node.System);
        var holder = node.System.ActorOf(Props.Create(() => new Holder(inbox.Receiver)), holderName);
        node.Queue.Tell(new Reserve(TimeSpan.Zero), holder);
        return (Reserved)await inbox.ReceiveAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task Jobs_order_states_and_counters_survive_a_restart()
    {
        JobQueueSnapshot before;
        await using (var node = QueueNode.Start(Db, _clock))
        {
            foreach (var (id, prio) in new[] { ("r1", 10u), ("r2", 5u), ("r3", 10u), ("b1", 1u), ("x1", 2u), ("h1", 3u), ("c1", 4u), ("e1", 50u) })
                Assert.IsType<Pushed>(await node.Ask<IReply>(Job(id, prio)));
            await node.Ask<IReply>(JobQueue.Later("jobs", JobPayload.Create("work"), TimeSpan.FromHours(1)) with { Id = "d1" });
            await node.Ask<IReply>(new Push("jobs", JobPayload.Create("tick")) { Id = "p1", Period = TimeSpan.FromMinutes(5), Priority = 0 });

            var p1 = await node.Ask<Reserved>(new Reserve(TimeSpan.Zero));
            Assert.Equal("p1", p1.Job.Id);
            await node.Ask<Completed>(new Complete("p1", p1.Token));
            var b1 = await node.Ask<Reserved>(new Reserve(TimeSpan.Zero));
            await node.Ask<Buried>(new Bury("b1", b1.Token, "broken input"));
            var x1 = await node.Ask<Reserved>(new Reserve(TimeSpan.Zero));
            await node.Ask<Released>(new Release("x1", x1.Token) { Error = "try later", Priority = 7 });
            var h1 = await ReserveAs(node, "holder-h1");
            Assert.Equal("h1", h1.Job.Id);
            var c1 = await node.Ask<Reserved>(new Reserve(TimeSpan.Zero));
            await node.Ask<Completed>(new Complete("c1", c1.Token));
            await node.Ask<Deleted>(new Delete("e1"));
            before = await node.State();
        }

        await using (var node = QueueNode.Start(Db, _clock))
        {
            // The holder of h1 died with the old system: its lease is lost as soon as the queue notices.
            var h1 = await Conditions.Eventually(async () => await node.Ask<JobView>(new GetJob("h1")) is { State: JobState.Ready } ready ? ready : null,
                "h1 back in Ready once the queue notices its holder died");
            Assert.Equal((1, 1), (h1.Reserves, h1.Attempt));

            var after = await node.State();
            Assert.Equal(before.NextSeq, after.NextSeq);
            Assert.Equal(before.BuryCounter, after.BuryCounter);
            var unchanged = before.Jobs.Where(j => j.Job.Id != "h1").ToArray();
            Assert.Equal(unchanged, after.Jobs.Where(j => j.Job.Id != "h1").ToArray());
            Assert.Equal(["b1", "d1", "h1", "p1", "r1", "r2", "r3", "x1"], after.Jobs.Select(j => j.Job.Id).Order());

            var x1 = await node.Ask<JobView>(new GetJob("x1"));
            Assert.Equal((1, 1, "try later", 7u), (x1.Reserves, x1.Releases, x1.LastError, x1.Priority));
            var b1 = await node.Ask<JobView>(new GetJob("b1"));
            Assert.Equal((JobState.Buried, 1, "broken input"), (b1.State, b1.Buries, b1.LastError));
            var p1 = await node.Ask<JobView>(new GetJob("p1"));
            Assert.Equal((JobState.Delayed, 1), (p1.State, p1.Reserves));
            Assert.Equal(JobState.Delayed, (await node.Ask<JobView>(new GetJob("d1"))).State);

            var order = new List<string>();
            while (await node.Ask<IReply>(new Reserve(TimeSpan.Zero)) is Reserved r)
                order.Add(r.Job.Id);
            Assert.Equal(["h1", "r2", "x1", "r1", "r3"], order);
        }
    }

    [Fact]
    public async Task A_delay_or_lease_that_ran_out_while_down_is_over_after_the_restart()
    {
        await using (var node = QueueNode.Start(Db, _clock))
        {
            await node.Ask<Pushed>(JobQueue.Later("jobs", JobPayload.Create("work"), TimeSpan.FromSeconds(5)) with { Id = "due" });
            await node.Ask<Pushed>(JobQueue.Later("jobs", JobPayload.Create("work"), TimeSpan.FromHours(1)) with { Id = "not-due" });
            await node.Ask<Pushed>(new Push("jobs", JobPayload.Create("work")) { Id = "leased", TimeToRun = TimeSpan.FromSeconds(5) });
            // A lease taken through Ask is held by a temporary actor, which is not watched: it runs to its deadline.
            await node.Ask<Reserved>(new Reserve(TimeSpan.Zero));
            // Reserved does not wait for its own event; a read does wait for every pending write.
            Assert.Equal(JobState.Reserved, (await node.Ask<JobView>(new GetJob("leased"))).State);
        }

        _clock.Advance(TimeSpan.FromSeconds(2));
        await using (var node = QueueNode.Start(Db, _clock))
        {
            Assert.Equal(JobState.Delayed, (await node.Ask<JobView>(new GetJob("due"))).State);
            Assert.Equal(JobState.Reserved, (await node.Ask<JobView>(new GetJob("leased"))).State);
        }

        _clock.Advance(TimeSpan.FromSeconds(10));
        await using (var node = QueueNode.Start(Db, _clock))
        {
            Assert.Equal(JobState.Ready, (await node.Ask<JobView>(new GetJob("due"))).State);
            Assert.Equal(JobState.Delayed, (await node.Ask<JobView>(new GetJob("not-due"))).State);
            var leased = await node.Ask<JobView>(new GetJob("leased"));
            Assert.Equal((JobState.Ready, 1, 1), (leased.State, leased.Timeouts, leased.Reserves));
            Assert.Equal("due", (await node.Ask<Reserved>(new Reserve(TimeSpan.Zero))).Job.Id);
            var again = await node.Ask<Reserved>(new Reserve(TimeSpan.Zero));
            Assert.Equal(("leased", 2), (again.Job.Id, again.Attempt));
        }
    }

    [Fact]
    public async Task Recovery_from_snapshot_and_events_gives_the_same_state_as_from_events_alone()
    {
        const string hocon = "linda.queue.snapshot-every = 7\nlinda.queue.delete-events-on-snapshot = off";
        JobQueueSnapshot live;
        await using (var node = QueueNode.Start(Db, _clock, hocon: hocon))
        {
            for (var i = 0; i < 30; i++)
            {
                var push = i % 5 == 0
                    ? JobQueue.Later("jobs", JobPayload.Create("work", i), TimeSpan.FromSeconds(i)) with { Id = $"j{i}" }
                    : Job($"j{i}", (uint)(i % 3));
                await node.Ask<Pushed>(push);
                if (i % 3 == 0)
                {
                    var r = await node.Ask<Reserved>(new Reserve(TimeSpan.Zero));
                    object next = (i % 4) switch
                    {
                        0 => new Complete(r.Job.Id, r.Token),
                        1 => new Release(r.Job.Id, r.Token) { Delay = TimeSpan.FromSeconds(3), Error = "again" },
                        2 => new Bury(r.Job.Id, r.Token, "bad"),
                        _ => new Touch(r.Job.Id, r.Token),
                    };
                    Assert.IsNotType<IFailure>(await node.Ask<IReply>(next), exactMatch: false);
                }
                if (i == 13)
                    await node.Ask<Kicked>(new Kick(1));
                _clock.Advance(TimeSpan.FromSeconds(1));
            }
            await node.Ask<Deleted>(new Delete("j1"));
            live = await node.State();
        }

        Assert.True(Db.Rows(StoreTable.Snapshot) > 0, "the scenario saved no snapshot");
        // Each push is awaited, so each is a row of its own (a lease and its verdict may share one).
        Assert.True(Db.Rows(StoreTable.Journal) > 30, "events were deleted; the comparison needs them all");

        JobQueueSnapshot fromSnapshot, fromEvents;
        await using (var node = QueueNode.Start(Db, _clock, hocon: hocon))
            fromSnapshot = await node.State();
        await using (var node = QueueNode.Start(Db, _clock, hocon: hocon, ignoreSnapshots: true))
            fromEvents = await node.State();

        Assert.True(fromSnapshot.SameAs(fromEvents), "snapshot + events and events alone disagree");
        Assert.True(fromSnapshot.SameAs(live), "the recovered state differs from the live one");
        Assert.Contains(live.Jobs, j => j.State == JobState.Reserved);
        Assert.Contains(live.Jobs, j => j.State == JobState.Buried);
        Assert.Contains(live.Jobs, j => j.State == JobState.Delayed);
    }

    [Fact]
    public async Task Snapshots_delete_the_events_they_cover_and_recovery_still_gives_the_same_state()
    {
        const string hocon = "linda.queue.snapshot-every = 10";
        JobQueueSnapshot live;
        await using (var node = QueueNode.Start(Db, _clock, hocon: hocon))
        {
            for (var i = 0; i < 45; i++)
                await node.Ask<Pushed>(Job($"j{i}"));
            for (var i = 0; i < 10; i++)
            {
                var r = await node.Ask<Reserved>(new Reserve(TimeSpan.Zero));
                await node.Ask<Completed>(new Complete(r.Job.Id, r.Token));
            }
            live = await node.State();
            // Deleting the covered events follows the snapshot asynchronously: wait for it (bounded).
            await Conditions.Until(() => Db.Rows(StoreTable.Journal) < 65, "the events a snapshot covers deleted",
                detail: () => $"the journal keeps {Db.Rows(StoreTable.Journal)} rows");
        }
        await using (var node = QueueNode.Start(Db, _clock, hocon: hocon))
        {
            var recovered = await node.State();
            Assert.True(recovered.SameAs(live), $"recovered {recovered.Jobs.Count} jobs, next seq {recovered.NextSeq}; live {live.Jobs.Count}, {live.NextSeq}");
        }
    }
}
