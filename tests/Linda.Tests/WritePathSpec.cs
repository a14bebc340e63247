using Akka.Actor;
using Akka.Configuration;
using Akka.Serialization;
using Akka.TestKit;
using Linda.Tests.Infrastructure;
using Microsoft.Data.Sqlite;
using Xunit;
using Xunit.Abstractions;
using static Linda.JobQueue;

namespace Linda.Tests;

/// <summary>
/// The queue's write path on a real SQLite file: what goes into which journal row, and when each reply
/// leaves. A write is held in flight by a second connection that takes SQLite's write lock
/// (<see cref="WriteLock"/>): the journal's insert then waits inside SQLite until the lock is let go.
/// </summary>
[Collection(DatabaseCollection.Name)]
public sealed class WritePathSpec(ITestOutputHelper output) : QueueSpec(output, new TempFolder())
{
    /// <summary>Long enough to see that a reply does not come; far below SQLite's busy timeout (10 s).</summary>
    private static readonly TimeSpan NoReply = TimeSpan.FromMilliseconds(400);

    /// <summary>A bound for a reply that must come while a write is held: well within SQLite's busy timeout.</summary>
    private static readonly TimeSpan WhileHeld = TimeSpan.FromSeconds(5);

    private const string FailInserts = "CREATE TRIGGER fail_writes BEFORE INSERT ON journal BEGIN SELECT RAISE(ABORT, 'injected journal failure'); END;";

    private static Push Job(string id) => TestJobs.Push(id, payload: TestJobs.Payload("work", id));

    private IReadOnlyList<JournalRows.Row> Rows(string queue = TestJobs.Queue) => JournalRows.Read(Sys, DatabasePath, queue);

    private static string[][] PushedIds(IEnumerable<JournalRows.Row> rows) =>
        rows.Select(r => r.Events.Select(e => e is JobPushed p ? p.Job.Id : e.GetType().Name).ToArray()).ToArray();

    private void Sql(string sql) => SqliteFile.Execute(DatabasePath, sql);

    [Fact]
    public void Commands_applied_while_a_write_is_in_flight_go_into_the_next_write_as_one_row_in_order()
    {
        var q = StartQueue();
        Settled(q);
        var later = new[] { "b", "c", "d", "e", "f", "g", "h", "i", "j" };
        using (var held = WriteLock.Take(DatabasePath))
        {
            q.Tell(Job("a"));
            Settled(q); // a's write is in flight, waiting for the lock
            foreach (var id in later)
                q.Tell(Job(id));
            q.Tell(new GetJob("j"));
            Settled(q); // b..j applied while a's write is in flight

            ExpectNoMsg(NoReply);
            Assert.Empty(Rows());
            held.Release();
        }

        var replies = new List<string>();
        for (var i = 0; i < 10; i++)
        {
            var pushed = ExpectMsg<Pushed>(Wait);
            Assert.Equal(i + 1, pushed.Seq);
            replies.Add(pushed.JobId);
        }
        Assert.Equal(["a", .. later], replies);
        var view = ExpectMsg<JobView>(Wait);
        Assert.Equal(("j", JobState.Ready), (view.Job.Id, view.State));

        var rows = Rows();
        Assert.Equal([["a"], later], PushedIds(rows));
        Assert.Equal([1L, 2L], rows.Select(r => r.SequenceNr));
        Assert.All(rows, r => Assert.Equal("eBatch", r.Manifest));
    }

    [Fact]
    public async Task Commands_that_reach_an_idle_queue_together_share_its_first_write()
    {
        // The queue actor blocks on the clock while it handles the first push: the others are told
        // meanwhile, so they are in its mailbox before the first push's Flush, whatever the timing.
        var clock = new GatedClock(Clock);
        var q = Sys.ActorOf(JobQueueActor.Props(TestJobs.Queue, Settings, clock));
        Settled(q);
        Assert.Empty(Rows());
        var senders = Enumerable.Range(0, 3).Select(_ => CreateTestProbe()).ToArray();
        var ids = Enumerable.Range(0, 7).Select(i => $"t{i}").ToArray();

        clock.Close();
        try
        {
            for (var i = 0; i < ids.Length; i++)
                q.Tell(Job(ids[i]), senders[i % senders.Length].Ref);
            // Not needed for the outcome (the pushes are queued behind the first either way), but it
            // shows the first push is being handled, so the rest really are waiting in the mailbox.
            await Conditions.Until(() => clock.Blocked == 1, "the queue actor handling the first push, held on the clock");
        }
        finally
        {
            clock.Open();
        }

        for (var i = 0; i < ids.Length; i++)
            Assert.Equal(ids[i], senders[i % senders.Length].ExpectMsg<Pushed>(Wait).JobId);
        Assert.Equal([ids], PushedIds(Rows()));

        // A command alone on an idle queue is written at once, in a row of its own (no timer to wait for).
        q.Tell(Job("alone"));
        ExpectMsg<Pushed>(Wait);
        Assert.Equal([ids, ["alone"]], PushedIds(Rows()));
    }

    [Fact]
    public void A_reply_that_changes_nothing_goes_out_at_once_on_an_idle_queue_and_writes_nothing()
    {
        var q = StartQueue();
        q.Tell(Job("a"));
        ExpectMsg<Pushed>(Wait);
        q.Tell(new GetJob("a"));
        ExpectMsg<JobView>(Wait); // behind every pending write: the queue is idle now
        var rowsBefore = Rows().Count;

        // Any write would now wait for the lock: these replies come while it is held, so none waited for one.
        using (var held = WriteLock.Take(DatabasePath))
        {
            q.Tell(new GetJob("a"));
            Assert.Equal(("a", JobState.Ready), ExpectMsg<JobView>(WhileHeld) is var v ? (v.Job.Id, v.State) : default);
            q.Tell(GetStats.Instance);
            Assert.Equal(1, ExpectMsg<QueueStats>(WhileHeld).Ready);
            q.Tell(PeekReady.Instance);
            Assert.Equal("a", ExpectMsg<JobView>(WhileHeld).Job.Id);
            q.Tell(PeekBuried.Instance);
            ExpectMsg(new NoJob(JobState.Buried), WhileHeld);
            q.Tell(Job("a"));
            ExpectMsg(new AlreadyExists("a"), WhileHeld);
            q.Tell(new Delete("missing"));
            ExpectMsg(new NotFound("missing"), WhileHeld);
            q.Tell(new Kick(10));
            ExpectMsg(new Kicked(0), WhileHeld);
            q.Tell(JobQueue.Resume.Instance);
            ExpectMsg(Resumed.Instance, WhileHeld);
            held.Release();
        }

        q.Tell(JobQueueActor.InspectState.Instance);
        ExpectMsg<JobQueueSnapshot>(Wait);
        Assert.Equal(rowsBefore, Rows().Count);
    }

    [Fact]
    public void A_refusal_is_not_answered_before_the_write_holding_the_event_it_refers_to()
    {
        var q = StartQueue();
        Settled(q);
        var other = CreateTestProbe();
        var reader = CreateTestProbe();
        using (var held = WriteLock.Take(DatabasePath))
        {
            q.Tell(Job("x"));
            q.Tell(Job("x"), other.Ref);
            q.Tell(new GetJob("x"), reader.Ref);
            Settled(q); // all three handled; the first push's write is held

            // AlreadyExists (and the view) would reveal a push that is not yet in the journal.
            other.ExpectNoMsg(NoReply);
            reader.ExpectNoMsg(TimeSpan.Zero);
            ExpectNoMsg(TimeSpan.Zero);
            held.Release();
        }

        ExpectMsg(new Pushed("x", JobState.Ready) { Seq = 1 }, Wait);
        other.ExpectMsg(new AlreadyExists("x"), Wait);
        Assert.Equal(("x", JobState.Ready), reader.ExpectMsg<JobView>(Wait) is var v ? (v.Job.Id, v.State) : default);
        Assert.Equal([["x"]], PushedIds(Rows()));
    }

    /// <summary>A job pushed and reserved by <paramref name="worker"/>, everything written.</summary>
    private Reserved Leased(IActorRef q, TestProbe worker, string id)
    {
        q.Tell(Job(id));
        ExpectMsg<Pushed>(Wait);
        q.Tell(new Reserve(TimeSpan.Zero), worker.Ref);
        var reserved = worker.ExpectMsg<Reserved>(Wait);
        Assert.Equal(id, reserved.Job.Id);
        q.Tell(new GetJob(id));
        Assert.Equal(JobState.Reserved, ExpectMsg<JobView>(Wait).State); // behind the lease's write: idle now
        return reserved;
    }

    [Fact]
    public void By_default_a_verdict_is_answered_only_once_written()
    {
        var q = StartQueue();
        var worker = CreateTestProbe();
        var r = Leased(q, worker, "j");
        using (var held = WriteLock.Take(DatabasePath))
        {
            q.Tell(new Complete("j", r.Token), worker.Ref);
            Settled(q);
            worker.ExpectNoMsg(NoReply);
            held.Release();
        }
        worker.ExpectMsg(new Completed("j", null), Wait);
        Assert.IsType<JobCompleted>(Assert.Single(Rows()[^1].Events));
    }

    [Fact]
    public void An_early_verdict_from_a_sender_with_nothing_pending_is_answered_before_its_write_and_reads_still_wait_for_it()
    {
        var early = LindaSettings.Create(ConfigurationFactory.ParseString("linda.queue.verdict-reply = early").WithFallback(Sys.Settings.Config));
        Assert.True(early.EarlyVerdicts);
        var q = StartQueue(settings: early);
        var worker = CreateTestProbe();
        var r = Leased(q, worker, "j");
        var rowsBefore = Rows().Count;
        using (var held = WriteLock.Take(DatabasePath))
        {
            q.Tell(new Complete("j", r.Token), worker.Ref);
            worker.ExpectMsg(new Completed("j", null), WhileHeld);
            // The completion is applied but not written: a read does not see it yet.
            q.Tell(new GetJob("j"));
            Settled(q);
            ExpectNoMsg(NoReply);
            held.Release();
        }
        ExpectMsg(new NotFound("j"), Wait);
        var rows = Rows();
        Assert.Equal(rowsBefore + 1, rows.Count);
        Assert.Equal(new JobCompleted(Clock.GetUtcNow(), "j"), Assert.Single(rows[^1].Events));
    }

    [Fact]
    public void An_early_verdict_waits_behind_the_same_senders_push_that_is_still_being_written()
    {
        var q = StartQueue(settings: Settings with { EarlyVerdicts = true });
        var worker = CreateTestProbe();
        var r = Leased(q, worker, "j");
        var bystander = CreateTestProbe();
        var b = Leased(q, bystander, "b");
        using (var held = WriteLock.Take(DatabasePath))
        {
            q.Tell(Job("k"), worker.Ref);
            q.Tell(new Complete("j", r.Token), worker.Ref);
            // Another sender's verdict does not wait for the worker's push.
            q.Tell(new Complete("b", b.Token), bystander.Ref);
            bystander.ExpectMsg(new Completed("b", null), WhileHeld);
            Settled(q);
            worker.ExpectNoMsg(NoReply);
            held.Release();
        }
        worker.ExpectMsg(new Pushed("k", JobState.Ready) { Seq = 3 }, Wait);
        worker.ExpectMsg(new Completed("j", null), Wait);
        q.Tell(new GetJob("j"));
        ExpectMsg(new NotFound("j"), Wait);
    }

    [Fact]
    public void Replies_that_need_no_write_still_leave_after_the_same_senders_pending_replies()
    {
        var q = StartQueue();
        q.Tell(Job("ready"));
        ExpectMsg<Pushed>(Wait);
        q.Tell(Job("ready2"));
        ExpectMsg<Pushed>(Wait);
        var client = CreateTestProbe();
        var other = CreateTestProbe();
        using (var held = WriteLock.Take(DatabasePath))
        {
            q.Tell(Job("k"), client.Ref);
            // "ready" is written: its lease (early, to a holder on this node) and a Locate need no write,
            // but the client's Pushed is still pending, so they wait behind it.
            q.Tell(new Reserve(TimeSpan.Zero), client.Ref);
            q.Tell(Locate.Instance, client.Ref);
            // The same replies to a sender with nothing pending go out at once.
            q.Tell(new Reserve(TimeSpan.Zero), other.Ref);
            Assert.Equal("ready2", other.ExpectMsg<Reserved>(WhileHeld).Job.Id);
            q.Tell(Locate.Instance, other.Ref);
            other.ExpectMsg<Located>(WhileHeld);
            Settled(q);
            client.ExpectNoMsg(NoReply);
            held.Release();
        }
        Assert.Equal("k", client.ExpectMsg<Pushed>(Wait).JobId);
        Assert.Equal("ready", client.ExpectMsg<Reserved>(Wait).Job.Id);
        client.ExpectMsg<Located>(Wait);
    }

    [Fact]
    public void A_failed_write_answers_WriteFailed_to_every_command_in_it_and_in_the_open_batch_and_none_of_them_survives()
    {
        var q = StartQueue(settings: Settings with { RestartBackoff = TimeSpan.FromMilliseconds(50) });
        q.Tell(Job("before"));
        ExpectMsg<Pushed>(Wait);
        var p1 = CreateTestProbe();
        var p2 = CreateTestProbe();
        using (var held = WriteLock.Take(DatabasePath))
        {
            // The trigger comes with the lock: the held write fails the moment the lock is let go.
            held.Execute(FailInserts);
            q.Tell(Job("a"));                               // in flight
            Settled(q);
            q.Tell(Job("b"), p1.Ref);                       // the open batch
            q.Tell(new Pause(TimeSpan.FromMinutes(5)), p1.Ref);
            q.Tell(new GetJob("a"), p1.Ref);                // a read behind them
            q.Tell(Job("c"), p2.Ref);
            q.Tell(new Delete("before"), p2.Ref);
            Settled(q);
            ExpectNoMsg(TimeSpan.Zero);
            held.Release();
        }

        // The held insert itself failed, on the trigger that came with the lock.
        Assert.Contains("injected journal failure", ExpectMsg<WriteFailed>(Wait).Message);
        for (var i = 0; i < 3; i++)
            p1.ExpectMsg<WriteFailed>(Wait);
        for (var i = 0; i < 2; i++)
            p2.ExpectMsg<WriteFailed>(Wait);

        // Served by the restarted queue, which recovered from the journal alone.
        foreach (var lost in new[] { "a", "b", "c" })
        {
            q.Tell(new GetJob(lost));
            ExpectMsg(new NotFound(lost), Wait);
        }
        q.Tell(new GetJob("before"));
        Assert.Equal(JobState.Ready, ExpectMsg<JobView>(Wait).State);
        q.Tell(GetStats.Instance);
        var stats = ExpectMsg<QueueStats>(Wait);
        Assert.Equal((1, 1L, (DateTimeOffset?)null), (stats.Jobs, stats.TotalJobs, stats.PausedUntil));

        Sql("DROP TRIGGER fail_writes;");
        q.Tell(Job("after"));
        ExpectMsg(new Pushed("after", JobState.Ready) { Seq = 2 }, Wait);
        Assert.Equal([["before"], ["after"]], PushedIds(Rows()));
    }

    [Fact]
    public void Locate_is_answered_by_the_queue_actor_itself_and_after_a_failed_write_by_the_new_one()
    {
        var supervisor = StartQueue(settings: Settings with { RestartBackoff = TimeSpan.FromMilliseconds(50) });
        supervisor.Tell(Locate.Instance);
        var first = ExpectMsg<Located>(Wait).Queue;
        Assert.Equal(first, LastSender);
        Assert.NotEqual(supervisor, first);
        Assert.Equal(supervisor.Path, first.Path.Parent);

        // Sent to directly, it serves, and answers as itself.
        first.Tell(Job("direct"));
        ExpectMsg<Pushed>(Wait);
        Assert.Equal(first, LastSender);

        Watch(first);
        Sql(FailInserts);
        first.Tell(Job("lost"));
        var seen = new List<object> { ExpectMsg<object>(Wait), ExpectMsg<object>(Wait) }; // Terminated may overtake the reply
        Assert.Contains(seen, m => m is WriteFailed);
        Assert.Contains(seen, m => m is Terminated t && t.ActorRef.Equals(first));
        Sql("DROP TRIGGER fail_writes;");

        supervisor.Tell(Locate.Instance);
        var second = ExpectMsg<Located>(Wait).Queue;
        Assert.Equal(second, LastSender);
        Assert.NotEqual(first, second);
        Assert.Equal(supervisor.Path, second.Path.Parent);
        second.Tell(new GetJob("direct"));
        Assert.Equal("direct", ExpectMsg<JobView>(Wait).Job.Id);
        second.Tell(new GetJob("lost"));
        ExpectMsg(new NotFound("lost"), Wait);
    }

    [Fact]
    public async Task A_snapshot_taken_under_load_covers_exactly_the_rows_before_it()
    {
        var q = StartQueue(settings: Settings with { SnapshotEvery = 5, DeleteEventsOnSnapshot = false });
        Settled(q);
        var first = new[] { "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k" };
        using (var held = WriteLock.Take(DatabasePath))
        {
            q.Tell(Job("a"));
            Settled(q);
            foreach (var id in first[1..])
                q.Tell(Job(id));
            Settled(q); // b..k wait in the open batch: no snapshot while they wait
            held.Release();
        }
        Assert.Equal(first, ReceiveN(first.Length, Wait).Cast<Pushed>().Select(p => p.JobId));
        // b..k went into flight as one row (2), and a snapshot was taken then: it holds a..k, under 2.
        await Conditions.Until(() => JournalRows.Snapshots(Sys, DatabasePath, TestJobs.Queue).Count > 0, "the snapshot taken when b..k went into flight");
        var snapshot = JournalRows.Snapshots(Sys, DatabasePath, TestJobs.Queue)[0];
        Assert.Equal(2, snapshot.SequenceNr);
        Assert.Equal(first, snapshot.Snapshot.Jobs.Select(j => j.Job.Id));

        // Under load: bursts of pushes, reserves and verdicts, nothing awaited within a burst.
        for (var round = 0; round < 6; round++)
        {
            for (var i = 0; i < 12; i++)
                q.Tell(Job($"r{round}-{i}"));
            for (var i = 0; i < 8; i++)
                q.Tell(new Reserve(TimeSpan.Zero));
            var replies = ReceiveN(20, Wait);
            Assert.All(replies.Take(12), m => Assert.IsType<Pushed>(m));
            var leases = replies.Skip(12).Cast<Reserved>().ToArray();
            for (var i = 0; i < leases.Length; i++)
            {
                var l = leases[i];
                q.Tell((i % 4) switch
                {
                    0 => new Complete(l.Job.Id, l.Token),
                    1 => new Release(l.Job.Id, l.Token) { Delay = TimeSpan.FromSeconds(i), Error = "again" },
                    2 => new Bury(l.Job.Id, l.Token, "bad"),
                    _ => (object)new Touch(l.Job.Id, l.Token),
                });
            }
            Assert.All(ReceiveN(leases.Length, Wait), m => Assert.False(m is IFailure, $"refused: {m}"));
            Clock.Advance(TimeSpan.FromSeconds(1));
        }
        q.Tell(JobQueueActor.InspectState.Instance);
        var live = ExpectMsg<JobQueueSnapshot>(Wait);
        Watch(q);
        Sys.Stop(q);
        ExpectTerminated(q, Wait);

        var rows = Rows();
        var snapshots = JournalRows.Snapshots(Sys, DatabasePath, TestJobs.Queue);
        Output?.WriteLine($"{rows.Sum(r => r.Events.Count)} events in {rows.Count} rows; snapshots at {string.Join(", ", snapshots.Select(s => s.SequenceNr))}");
        Assert.True(snapshots.Count > 1, "snapshots under load were taken");
        Assert.Contains(rows, r => r.Events.Count > 1);
        foreach (var (sequenceNr, taken) in snapshots)
        {
            var replayed = JournalRows.Replay(rows.Where(r => r.SequenceNr <= sequenceNr), TestJobs.Queue, Settings.Limits, taken.Now);
            Assert.Equal(StateText.Render(replayed), StateText.Render(taken));
            Assert.True(replayed.SameAs(taken), $"the snapshot under {sequenceNr} is not the state after the rows up to it");
            var resumed = JournalRows.Replay(rows.Where(r => r.SequenceNr > sequenceNr), Settings.Limits, live.Now, taken);
            Assert.True(resumed.SameAs(live), $"the snapshot under {sequenceNr} and the rows after it are not the live state");
        }

        JobQueueSnapshot fromSnapshot, fromEvents;
        await using (var node = QueueNode.Start(DatabasePath, Clock, hocon: "linda.queue.snapshot-every = 0"))
            fromSnapshot = await node.State();
        await using (var node = QueueNode.Start(DatabasePath, Clock, hocon: "linda.queue.snapshot-every = 0", ignoreSnapshots: true))
            fromEvents = await node.State();
        Assert.Equal(StateText.Render(live), StateText.Render(fromSnapshot));
        Assert.True(fromSnapshot.SameAs(live), "recovered from the latest snapshot and the rows after it, the state differs from the live one");
        Assert.True(fromEvents.SameAs(live), "recovered from the rows alone, the state differs from the live one");
        Assert.Contains(live.Jobs, j => j.State == JobState.Reserved);
    }

    [Fact]
    public void Under_steady_load_snapshots_are_saved_and_the_writes_go_on_after_each()
    {
        // The journal always has a write waiting: 32 pushes outstanding, one sent for each reply. On
        // SQLite a snapshot saved beside those back-to-back writes waits for the write lock; the queue
        // writes no row while one is saved, so each is saved at once, and the writes then go on.
        var q = StartQueue(settings: Settings with { SnapshotEvery = 40, DeleteEventsOnSnapshot = false });
        Settled(q);
        const int Window = 32;
        var sent = 0;
        for (; sent < Window; sent++)
            q.Tell(Job($"w{sent}"));
        var answered = 0;
        var snapshots = 0;
        while (snapshots < 3)
        {
            for (var i = 0; i < 100; i++)
            {
                Assert.Equal($"w{answered}", ExpectMsg<Pushed>(Wait).JobId);
                answered++;
                q.Tell(Job($"w{sent++}"));
            }
            snapshots = JournalRows.Snapshots(Sys, DatabasePath, TestJobs.Queue).Count;
            Assert.True(answered < 20_000, $"{answered} pushes answered under load, and only {snapshots} snapshots saved");
        }
        for (; answered < sent; answered++)
            Assert.Equal($"w{answered}", ExpectMsg<Pushed>(Wait).JobId);
        Output?.WriteLine($"{snapshots} snapshots saved within {answered} pushes");
    }

    [Fact]
    public void A_burst_larger_than_max_write_bytes_is_written_as_several_rows_in_order()
    {
        const int maxBytes = 2048;
        var q = StartQueue(settings: Settings with { MaxWriteBytes = maxBytes });
        Settled(q);
        var ids = Enumerable.Range(0, 20).Select(i => $"big-{i:00}").ToArray();
        var body = new string('x', 500);
        using (var held = WriteLock.Take(DatabasePath))
        {
            q.Tell(Job("first"));
            Settled(q);
            foreach (var id in ids)
                q.Tell(TestJobs.Push(id, payload: TestJobs.Payload("work", body)));
            Settled(q);
            held.Release();
        }
        Assert.Equal(["first", .. ids], ReceiveN(ids.Length + 1, Wait).Cast<Pushed>().Select(p => p.JobId));

        var rows = Rows().Skip(1).ToArray();
        Assert.Equal(ids, rows.SelectMany(r => r.Events).Cast<JobPushed>().Select(e => e.Job.Id));
        Assert.True(rows.Length > 1, "the burst was split");
        int Size(JournalRows.Row r) => r.Events.Sum(WriteBatches.EstimatedSize);
        Assert.All(rows, r => Assert.True(r.Events.Count == 1 || Size(r) <= maxBytes, $"a row of {Size(r)} bytes"));
        // Each row is as full as it could be: the next row's first event did not fit.
        for (var i = 0; i + 1 < rows.Length; i++)
            Assert.True(Size(rows[i]) + WriteBatches.EstimatedSize(rows[i + 1].Events[0]) > maxBytes, $"row {i} had room for the next event");
    }
}

/// <summary>
/// SQLite's write lock, taken by a connection of the test's own (<c>BEGIN IMMEDIATE</c>): a journal
/// write started meanwhile waits inside SQLite (busy timeout 10 s) until <see cref="Release"/>.
/// Reads go on (WAL).
/// </summary>
internal sealed class WriteLock : IDisposable
{
    private readonly SqliteConnection _connection;
    private bool _held;

    private WriteLock(string path)
    {
        _connection = new SqliteConnection(JournalRows.ConnectionString(path));
        _connection.Open();
        Execute("BEGIN IMMEDIATE;");
        _held = true;
    }

    public static WriteLock Take(string path) => new(path);

    /// <summary>Runs <paramref name="sql"/> inside the transaction that holds the lock.</summary>
    public void Execute(string sql)
    {
        using var command = _connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    /// <summary>Commits (what <see cref="Execute"/> did takes effect) and lets the waiting write go.</summary>
    public void Release()
    {
        if (!_held)
            return;
        _held = false;
        Execute("COMMIT;");
    }

    public void Dispose()
    {
        if (_held)
        {
            _held = false;
            Execute("ROLLBACK;");
        }
        _connection.Dispose();
    }
}

/// <summary>
/// A clock that can hold whoever asks it the time (the queue actor asks on every command): closed,
/// the actor blocks in the middle of a command until it is opened again.
/// </summary>
internal sealed class GatedClock(TimeProvider inner) : TimeProvider
{
    private readonly ManualResetEventSlim _open = new(true);
    private int _blocked;

    /// <summary>How many callers wait for the gate now.</summary>
    public int Blocked => Volatile.Read(ref _blocked);

    public void Close() => _open.Reset();

    public void Open() => _open.Set();

    public override DateTimeOffset GetUtcNow()
    {
        if (!_open.IsSet)
        {
            Interlocked.Increment(ref _blocked);
            try
            {
                if (!_open.Wait(TimeSpan.FromSeconds(60)))
                    throw new TimeoutException("the clock's gate stayed closed");
            }
            finally
            {
                Interlocked.Decrement(ref _blocked);
            }
        }
        return inner.GetUtcNow();
    }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
        inner.CreateTimer(callback, state, dueTime, period);
}

/// <summary>A queue's journal rows and snapshots as the SQLite file holds them, decoded with the system's serializer.</summary>
internal static class JournalRows
{
    public sealed record Row(long SequenceNr, string Manifest, IReadOnlyList<IEvent> Events);

    /// <summary>A connection of the test's own (not from the journal's pool).</summary>
    public static string ConnectionString(string path) =>
        new SqliteConnectionStringBuilder { DataSource = path, Pooling = false, DefaultTimeout = 30 }.ToString();

    public static IReadOnlyList<Row> Read(ActorSystem system, string path, string queue)
    {
        var serializer = (SerializerWithStringManifest)system.Serialization.FindSerializerForType(typeof(EventBatch));
        var rows = new List<Row>();
        using var connection = new SqliteConnection(ConnectionString(path));
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT sequence_number, message, manifest FROM journal WHERE persistence_id = $id ORDER BY sequence_number";
        command.Parameters.AddWithValue("$id", JobQueueActor.PersistenceIdOf(queue));
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            var manifest = reader.GetString(2);
            var message = serializer.FromBinary((byte[])reader[1], manifest);
            var events = message switch
            {
                EventBatch b => b.Events,
                IEvent e => [e],
                _ => throw new InvalidOperationException($"row {reader.GetInt64(0)} holds a {message.GetType().Name}"),
            };
            rows.Add(new Row(reader.GetInt64(0), manifest, events));
        }
        return rows;
    }

    public static IReadOnlyList<(long SequenceNr, JobQueueSnapshot Snapshot)> Snapshots(ActorSystem system, string path, string queue)
    {
        var serializer = (SerializerWithStringManifest)system.Serialization.FindSerializerForType(typeof(JobQueueSnapshot));
        var found = new List<(long, JobQueueSnapshot)>();
        using var connection = new SqliteConnection(ConnectionString(path));
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT sequence_number, snapshot, manifest, serializer_id FROM snapshot WHERE persistence_id = $id ORDER BY sequence_number";
        command.Parameters.AddWithValue("$id", JobQueueActor.PersistenceIdOf(queue));
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            found.Add((reader.GetInt64(0), (JobQueueSnapshot)serializer.FromBinary((byte[])reader[1], reader.GetString(2))));
        }
        return found;
    }

    /// <summary>The state the rows give from an empty queue, advanced to <paramref name="now"/>.</summary>
    public static JobQueueSnapshot Replay(IEnumerable<Row> rows, string queue, QueueLimits limits, DateTimeOffset now) =>
        Replay(rows, new JobQueueState(queue, limits), now);

    /// <summary>The state the rows give after <paramref name="from"/>, advanced to <paramref name="now"/>.</summary>
    public static JobQueueSnapshot Replay(IEnumerable<Row> rows, QueueLimits limits, DateTimeOffset now, JobQueueSnapshot from) =>
        Replay(rows, JobQueueState.FromSnapshot(from, limits), now);

    private static JobQueueSnapshot Replay(IEnumerable<Row> rows, JobQueueState state, DateTimeOffset now)
    {
        foreach (var row in rows)
        {
            foreach (var e in row.Events)
                state.Apply(e);
        }
        state.Advance(now);
        return state.ToSnapshot();
    }
}
