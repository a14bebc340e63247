using Akka.Actor;
using Akka.TestKit;
using Linda.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;
using static Linda.JobQueue;

namespace Linda.Tests;

/// <summary>
/// Many commands share each write: several senders send random bursts (pushes with and without ids,
/// delays, periods and priorities; reserves; verdicts on the leases they hold, and on stale ones;
/// deletes, kicks, pauses, reads) without waiting for replies. Every command gets exactly one reply,
/// each sender's in the order of its commands; and the state the queue recovers from its journal (from
/// its rows alone, and from its latest snapshot and the rows after it) is the state it had live.
/// </summary>
/// <remarks>
/// The lease holders are probes of the test's ActorSystem: the recovering ActorSystem can't resolve
/// them, so their leases stay as the journal has them (they would end at their deadline), and the
/// states compare exactly, leases included. Time is the manual clock: both states are taken at the
/// same time.
/// </remarks>
[Collection(DatabaseCollection.Name)]
public sealed class BatchedReplaySpec(ITestOutputHelper output) : QueueSpec(output, new TempFolder())
{
    private const int SenderCount = 3;
    private const int Rounds = 30;
    private const int IdPool = 60;

    private sealed class Sender(TestProbe probe)
    {
        public TestProbe Probe { get; } = probe;

        /// <summary>Leases this sender was handed and has not yet seen end.</summary>
        public List<(string Id, long Token)> Leases { get; } = [];

        /// <summary>Leases that ended: their tokens are stale from now on.</summary>
        public List<(string Id, long Token)> Ended { get; } = [];
    }

    [Theory]
    [InlineData(2, 0)]
    [InlineData(2, 7)]
    [InlineData(6, 0)]
    [InlineData(6, 7)]
    [InlineData(11, 0)]
    [InlineData(11, 7)]
    [InlineData(4, 0)]
    [InlineData(4, 31)]
    public async Task A_queue_fed_random_bursts_answers_every_command_in_order_and_recovers_the_state_it_had_live(int seed, int snapshotEvery)
    {
        var rng = new Random(seed);
        var q = StartQueue(settings: Settings with { SnapshotEvery = snapshotEvery, DeleteEventsOnSnapshot = false });
        Settled(q); // recovered (a recovery's reads wait for SQLite's write lock too: take it only after)
        var senders = Enumerable.Range(0, SenderCount).Select(_ => new Sender(CreateTestProbe())).ToArray();
        var known = new List<string>();
        var replyKinds = new Dictionary<string, int>();
        var commands = 0;
        var heldRounds = 0;

        for (var round = 0; round < Rounds; round++)
        {
            var bursts = senders.Select(s => Burst(rng, s, known, round)).ToArray();
            var longest = bursts.Max(b => b.Count);
            if (rng.Next(3) == 0)
            {
                // A round during a held write: the senders' first commands go into flight together, the
                // rest are applied while that write waits, and go into the next one.
                heldRounds++;
                using var held = WriteLock.Take(DatabasePath);
                TellSlice(q, senders, bursts, 0, 1);
                Settled(q);
                TellSlice(q, senders, bursts, 1, longest);
                Settled(q);
                held.Release();
            }
            else
            {
                TellSlice(q, senders, bursts, 0, longest);
            }
            for (var i = 0; i < senders.Length; i++)
            {
                foreach (var command in bursts[i])
                {
                    var reply = senders[i].Probe.ExpectMsg<object>(Wait);
                    Assert.True(Fits(command, reply), $"round {round}, sender {i}: {command} was answered {reply}");
                    Learn(senders[i], command, reply, known);
                    var kind = reply.GetType().Name;
                    replyKinds[kind] = replyKinds.GetValueOrDefault(kind) + 1;
                    commands++;
                }
            }
            foreach (var s in senders)
                s.Probe.ExpectNoMsg(TimeSpan.Zero); // exactly one reply per command
            if (round < Rounds - 1 && rng.Next(4) != 0)
                Clock.Advance(TimeSpan.FromSeconds(rng.Next(1, 16)));
        }

        // Behind every pending write (a lease answered before its own event was written, above all).
        q.Tell(JobQueueActor.InspectState.Instance);
        var live = ExpectMsg<JobQueueSnapshot>(Wait);
        Watch(q);
        Sys.Stop(q);
        ExpectTerminated(q, Wait);

        var rows = JournalRows.Read(Sys, DatabasePath, TestJobs.Queue);
        var events = rows.Sum(r => r.Events.Count);
        var snapshots = JournalRows.Snapshots(Sys, DatabasePath, TestJobs.Queue);
        Output?.WriteLine($"seed {seed}: {commands} commands ({heldRounds} rounds during a held write), {events} events in {rows.Count} rows (largest {rows.Max(r => r.Events.Count)}), "
                          + $"snapshots at [{string.Join(", ", snapshots.Select(s => s.SequenceNr))}]; "
                          + $"live: {live.Jobs.Count} jobs, {live.Jobs.Count(j => j.State == JobState.Reserved)} reserved; "
                          + string.Join(", ", replyKinds.OrderBy(p => p.Key).Select(p => $"{p.Key} {p.Value}")));

        // The mix did what it is for: many commands per write, leases in the final state, refusals seen.
        // (How many rows the free rounds take depends on the threads' timing; a held round's later
        // commands always share the one write after it.)
        Assert.True(heldRounds > 0, "no round ran during a held write");
        Assert.True(rows.Max(r => r.Events.Count) > 1 && rows.Count < events, $"{events} events in {rows.Count} rows: no write held several");
        Assert.All(rows, r => Assert.Equal("eBatch", r.Manifest));
        Assert.Equal(Enumerable.Range(1, rows.Count).Select(n => (long)n), rows.Select(r => r.SequenceNr));
        var inState = live.Jobs.GroupBy(j => j.State).ToDictionary(g => g.Key, g => g.Count());
        Assert.True(Enum.GetValues<JobState>().All(inState.ContainsKey), "jobs in every state at the end: " + string.Join(", ", inState.Select(p => $"{p.Key} {p.Value}")));
        Assert.True(replyKinds.ContainsKey(nameof(StaleLease)) && replyKinds.ContainsKey(nameof(AlreadyExists)), "stale tokens and duplicate ids were tried");

        // The rows alone give the live state.
        var replayed = JournalRows.Replay(rows, TestJobs.Queue, Settings.Limits, live.Now);
        Assert.Equal(StateText.Render(live), StateText.Render(replayed));
        Assert.True(replayed.SameAs(live), "the journal's rows, replayed, do not give the live state");

        // Every snapshot is the state after exactly the rows up to its sequence number.
        if (snapshotEvery == 0)
            Assert.Empty(snapshots);
        else
            Assert.NotEmpty(snapshots); // how many depends on where the writes fell (the next one waits for as many events as the last held jobs)
        foreach (var (sequenceNr, taken) in snapshots)
        {
            var upTo = JournalRows.Replay(rows.Where(r => r.SequenceNr <= sequenceNr), TestJobs.Queue, Settings.Limits, taken.Now);
            Assert.True(upTo.SameAs(taken), $"the snapshot under {sequenceNr} is not the state after the rows up to it");
            var resumed = JournalRows.Replay(rows.Where(r => r.SequenceNr > sequenceNr), Settings.Limits, live.Now, taken);
            Assert.True(resumed.SameAs(live), $"the snapshot under {sequenceNr} and the rows after it do not give the live state");
        }

        // A new ActorSystem on the same file recovers the live state: with its snapshots and without.
        JobQueueSnapshot recovered, fromEvents;
        await using (var node = QueueNode.Start(DatabasePath, Clock, hocon: "linda.queue.snapshot-every = 0"))
            recovered = await node.State();
        Assert.Equal(StateText.Render(live), StateText.Render(recovered));
        Assert.True(recovered.SameAs(live), "the recovered state differs from the live one");
        await using (var node = QueueNode.Start(DatabasePath, Clock, hocon: "linda.queue.snapshot-every = 0", ignoreSnapshots: true))
            fromEvents = await node.State();
        Assert.True(fromEvents.SameAs(live), "the state recovered from events alone differs from the live one");
        // Recovery wrote nothing: the comparison saw the journal the live queue left.
        Assert.Equal(rows.Count, JournalRows.Read(Sys, DatabasePath, TestJobs.Queue).Count);
    }

    /// <summary>Tells the commands <paramref name="from"/> to <paramref name="to"/> of every burst, interleaved: the senders' commands reach the queue mixed, as from concurrent clients.</summary>
    private static void TellSlice(IActorRef q, Sender[] senders, List<object>[] bursts, int from, int to)
    {
        for (var k = from; k < to; k++)
        {
            for (var i = 0; i < senders.Length; i++)
            {
                if (k < bursts[i].Count)
                    q.Tell(bursts[i][k], senders[i].Probe.Ref);
            }
        }
    }

    /// <summary>One sender's burst: 1 to 14 commands, drawn from what it holds and the ids it knows.</summary>
    private static List<object> Burst(Random rng, Sender s, List<string> known, int round)
    {
        var burst = new List<object>();
        var n = rng.Next(1, 15);
        for (var k = 0; k < n; k++)
        {
            var roll = rng.Next(100);
            burst.Add(roll switch
            {
                < 30 => RandomPush(rng, round, k),
                < 48 => new Reserve(TimeSpan.Zero),
                < 68 when s.Leases.Count > 0 => RandomVerdict(rng, s.Leases[rng.Next(s.Leases.Count)]),
                < 68 => new Reserve(TimeSpan.Zero),
                < 73 => RandomVerdict(rng, s.Ended.Count > 0 && rng.Next(2) == 0
                    ? s.Ended[rng.Next(s.Ended.Count)]
                    : (AnyId(rng, known), rng.NextInt64(1, long.MaxValue))),
                < 80 => new Delete(AnyId(rng, known)),
                < 84 => new Kick(rng.Next(1, 5)),
                < 88 => new KickJob(AnyId(rng, known)),
                < 91 => new Pause(TimeSpan.FromSeconds(rng.Next(1, 20))),
                < 93 => JobQueue.Resume.Instance,
                _ => (rng.Next(5)) switch
                {
                    0 => new GetJob(AnyId(rng, known)),
                    1 => GetStats.Instance,
                    2 => PeekReady.Instance,
                    3 => PeekDelayed.Instance,
                    _ => (object)PeekBuried.Instance,
                },
            });
        }
        return burst;
    }

    private static string AnyId(Random rng, List<string> known) =>
        known.Count == 0 || rng.Next(10) == 0 ? $"j{rng.Next(IdPool)}" : known[rng.Next(known.Count)];

    private static Push RandomPush(Random rng, int round, int k) =>
        TestJobs.Push(
            id: rng.Next(2) == 0 ? null : $"j{rng.Next(IdPool)}",
            priority: rng.Next(4) switch { 0 => null, 1 => 0u, 2 => (uint)rng.Next(1, 5000), _ => 1024u },
            delay: rng.Next(3) == 0 ? TimeSpan.FromSeconds(rng.Next(1, 30)) : TimeSpan.Zero,
            ttr: rng.Next(3) switch { 0 => null, 1 => TimeSpan.FromSeconds(10), _ => TimeSpan.FromSeconds(rng.Next(5, 120)) },
            maxRetries: rng.Next(4) switch { 0 => null, 1 => 0, 2 => 1, _ => 3 },
            period: rng.Next(8) == 0 ? TimeSpan.FromSeconds(rng.Next(5, 90)) : null,
            payload: TestJobs.Payload("work", round, k));

    private static object RandomVerdict(Random rng, (string Id, long Token) lease) => rng.Next(100) switch
    {
        < 35 => new Complete(lease.Id, lease.Token),
        < 65 => new Release(lease.Id, lease.Token)
        {
            Delay = rng.Next(2) == 0 ? TimeSpan.Zero : TimeSpan.FromSeconds(rng.Next(1, 20)),
            Priority = rng.Next(3) == 0 ? (uint)rng.Next(0, 3000) : null,
            Error = rng.Next(2) == 0 ? null : $"failed {rng.Next(1000)}",
        },
        < 80 => new Bury(lease.Id, lease.Token, $"bad {rng.Next(1000)}") { Priority = rng.Next(2) == 0 ? (uint)rng.Next(0, 3000) : null },
        _ => new Touch(lease.Id, lease.Token),
    };

    /// <summary>True when <paramref name="reply"/> is one of the answers <paramref name="command"/> can have, about its job.</summary>
    private static bool Fits(object command, object reply) => (command, reply) switch
    {
        (Push p, Pushed r) => p.Id is null ? r.JobId == r.Seq.ToString(System.Globalization.CultureInfo.InvariantCulture) : r.JobId == p.Id,
        (Push p, AlreadyExists r) => p.Id is not null && r.JobId == p.Id,
        (Reserve, Reserved or ReserveTimedOut) => true,
        (Complete c, Completed r) => r.JobId == c.JobId,
        (Release c, Released r) => r.JobId == c.JobId,
        (Bury c, Buried r) => r.JobId == c.JobId,
        (Touch c, Touched r) => r.JobId == c.JobId,
        (ILeaseCommand c, StaleLease r) => r.JobId == c.JobId,
        (ILeaseCommand c, NotReserved r) => r.JobId == c.JobId,
        (ILeaseCommand c, NotFound r) => r.JobId == c.JobId,
        (Delete c, Deleted r) => r.JobId == c.JobId,
        (Delete c, NotFound r) => r.JobId == c.JobId,
        (Kick, Kicked) => true,
        (KickJob c, KickedJob r) => r.JobId == c.JobId,
        (KickJob c, NotKickable r) => r.JobId == c.JobId,
        (KickJob c, NotFound r) => r.JobId == c.JobId,
        (Pause, Paused) => true,
        (JobQueue.Resume, Resumed) => true,
        (GetJob c, JobView v) => v.Job.Id == c.JobId,
        (GetJob c, NotFound r) => r.JobId == c.JobId,
        (GetStats, QueueStats) => true,
        (PeekReady, JobView { State: JobState.Ready }) or (PeekReady, NoJob { State: JobState.Ready }) => true,
        (PeekDelayed, JobView { State: JobState.Delayed }) or (PeekDelayed, NoJob { State: JobState.Delayed }) => true,
        (PeekBuried, JobView { State: JobState.Buried }) or (PeekBuried, NoJob { State: JobState.Buried }) => true,
        _ => false,
    };

    /// <summary>What a reply tells the sender about the leases it holds and the ids that exist.</summary>
    private static void Learn(Sender s, object command, object reply, List<string> known)
    {
        switch (reply)
        {
            case Pushed p when !known.Contains(p.JobId):
                known.Add(p.JobId);
                break;
            case Reserved r:
                s.Leases.Add((r.Job.Id, r.Token));
                break;
            case Touched:
                break;
            default:
                // Ended (by this verdict, or earlier: expired, taken back, deleted): stale from now on.
                if (command is ILeaseCommand c && s.Leases.Remove((c.JobId, c.Token)))
                    s.Ended.Add((c.JobId, c.Token));
                break;
        }
    }
}
