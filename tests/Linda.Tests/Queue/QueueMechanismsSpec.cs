using Akka.Actor;
using Xunit;
using Xunit.Abstractions;

namespace Linda.Tests.Queue;

/// <summary>
/// Unit specs of the queue actor's small mechanisms: <see cref="WaitingReserves"/> (who waits for a job,
/// and until when), <see cref="SnapshotPolicy"/> (when a snapshot is due) and <see cref="CommandCounters"/>
/// (the command counts in the stats). No actor runs: the test kit only provides distinct
/// <see cref="IActorRef"/> values as holders.
/// </summary>
public sealed class QueueMechanismsSpec : Akka.TestKit.Xunit2.TestKit
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);

    private readonly IActorRef _a;
    private readonly IActorRef _b;
    private readonly IActorRef _c;

    public QueueMechanismsSpec(ITestOutputHelper output)
        : base(LindaSettings.DefaultConfig, "queue-mechanisms-spec", output)
    {
        _a = CreateTestProbe("a").Ref;
        _b = CreateTestProbe("b").Ref;
        _c = CreateTestProbe("c").Ref;
    }

    private static DateTimeOffset At(double seconds) => T0 + TimeSpan.FromSeconds(seconds);

    /// <summary>Takes the oldest waiting reserves until none is left: (holder, pull), oldest first.</summary>
    private static List<(IActorRef Holder, long Pull)> TakeOldestUntilEmpty(WaitingReserves waiting)
    {
        var taken = new List<(IActorRef, long)>();
        while (waiting.TryTakeOldest(out var holder, out var pull))
            taken.Add((holder, pull));
        return taken;
    }

    /// <summary>Takes the expired reserves at <paramref name="now"/> until none is left.</summary>
    private static List<IActorRef> TakeExpired(WaitingReserves waiting, DateTimeOffset now)
    {
        var taken = new List<IActorRef>();
        while (waiting.TryTakeExpired(now, out var holder))
            taken.Add(holder);
        return taken;
    }

    // ================================================================ WaitingReserves

    [Fact]
    public void No_reserve_waits_at_first()
    {
        var waiting = new WaitingReserves();

        Assert.Equal(0, waiting.Count);
        Assert.Equal(0, waiting.Of(_a));
        Assert.Null(waiting.NextTimeout);
        Assert.False(waiting.TryTakeOldest(out var holder, out var pull));
        Assert.Equal(ActorRefs.Nobody, holder);
        Assert.Equal(0, pull);
        Assert.False(waiting.TryTakeExpired(At(1_000), out var expired));
        Assert.Equal(ActorRefs.Nobody, expired);
        Assert.Empty(waiting.TakeAll());
    }

    [Fact]
    public void Waiting_reserves_are_served_oldest_first_whatever_their_timeouts()
    {
        var waiting = new WaitingReserves();
        waiting.Add(_a, At(30), pull: 1);
        waiting.Add(_b, At(10), pull: 2);
        waiting.Add(_a, At(20), pull: 3);
        waiting.Add(_c, At(5), pull: 4);

        Assert.Equal(4, waiting.Count);
        Assert.Equal([(_a, 1L), (_b, 2L), (_a, 3L), (_c, 4L)], TakeOldestUntilEmpty(waiting));
        Assert.Equal(0, waiting.Count);
    }

    [Fact]
    public void Of_counts_each_holders_waiting_reserves()
    {
        var waiting = new WaitingReserves();
        waiting.Add(_a, At(10), 1);
        waiting.Add(_b, At(10), 2);
        waiting.Add(_a, At(10), 3);
        waiting.Add(_a, At(10), 4);

        Assert.Equal(3, waiting.Of(_a));
        Assert.Equal(1, waiting.Of(_b));
        Assert.Equal(0, waiting.Of(_c));

        Assert.True(waiting.TryTakeOldest(out var first, out _)); // _a's
        Assert.Equal(_a, first);
        Assert.Equal(2, waiting.Of(_a));
        Assert.True(waiting.TryTakeOldest(out var second, out _)); // _b's
        Assert.Equal(_b, second);
        Assert.Equal(0, waiting.Of(_b));
        Assert.Equal(2, waiting.Count);
    }

    [Fact]
    public void Drop_removes_only_that_holders_waiters_and_returns_how_many()
    {
        var waiting = new WaitingReserves();
        waiting.Add(_a, At(10), 1);
        waiting.Add(_b, At(20), 2);
        waiting.Add(_a, At(30), 3);
        waiting.Add(_c, At(40), 4);
        waiting.Add(_a, At(50), 5);

        Assert.Equal(3, waiting.Drop(_a));

        Assert.Equal(0, waiting.Of(_a));
        Assert.Equal(1, waiting.Of(_b));
        Assert.Equal(1, waiting.Of(_c));
        Assert.Equal(2, waiting.Count);
        Assert.Equal([(_b, 2L), (_c, 4L)], TakeOldestUntilEmpty(waiting));
    }

    [Fact]
    public void Drop_of_a_holder_that_waits_for_nothing_returns_zero_and_changes_nothing()
    {
        var waiting = new WaitingReserves();
        waiting.Add(_a, At(10), 1);

        Assert.Equal(0, waiting.Drop(_b));
        Assert.Equal(1, waiting.Count);
        Assert.Equal(1, waiting.Of(_a));

        Assert.Equal(1, waiting.Drop(_a));
        Assert.Equal(0, waiting.Drop(_a)); // not twice
        Assert.Equal(0, waiting.Count);
    }

    [Fact]
    public void TryTakeExpired_returns_only_the_waits_whose_time_is_over()
    {
        var waiting = new WaitingReserves();
        waiting.Add(_a, At(10), 1);
        waiting.Add(_b, At(20), 2);
        waiting.Add(_c, At(30), 3);

        Assert.Empty(TakeExpired(waiting, At(9)));
        Assert.Equal([_a, _b], TakeExpired(waiting, At(20))); // a timeout at now is over

        Assert.Equal(1, waiting.Count);
        Assert.Equal(0, waiting.Of(_a));
        Assert.Equal(0, waiting.Of(_b));
        Assert.Equal(1, waiting.Of(_c));
        Assert.Equal(At(30), waiting.NextTimeout);
        Assert.Equal([(_c, 3L)], TakeOldestUntilEmpty(waiting));
    }

    [Fact]
    public void TryTakeExpired_takes_the_soonest_timeout_first_not_the_oldest_wait()
    {
        var waiting = new WaitingReserves();
        waiting.Add(_a, At(30), 1);
        waiting.Add(_b, At(10), 2);
        waiting.Add(_c, At(20), 3);

        Assert.Equal([_b, _c, _a], TakeExpired(waiting, At(60)));
        Assert.Equal(0, waiting.Count);
    }

    [Fact]
    public void TryTakeExpired_skips_waits_already_served_or_dropped()
    {
        var waiting = new WaitingReserves();
        waiting.Add(_a, At(10), 1); // served below
        waiting.Add(_b, At(15), 2); // dropped below
        waiting.Add(_c, At(20), 3);
        waiting.Add(_a, At(40), 4); // not over yet
        Assert.True(waiting.TryTakeOldest(out var served, out var pull));
        Assert.Equal((_a, 1L), (served, pull));
        Assert.Equal(1, waiting.Drop(_b));

        Assert.Equal([_c], TakeExpired(waiting, At(30)));

        Assert.Equal(1, waiting.Count);
        Assert.Equal(1, waiting.Of(_a));
        Assert.Equal(At(40), waiting.NextTimeout);
    }

    [Fact]
    public void A_wait_served_before_its_timeout_is_not_expired_later()
    {
        var waiting = new WaitingReserves();
        waiting.Add(_a, At(10), 1);
        waiting.Add(_b, At(20), 2);
        Assert.True(waiting.TryTakeOldest(out _, out _)); // _a's

        Assert.Equal([_b], TakeExpired(waiting, At(100)));
        Assert.Equal(0, waiting.Of(_a));
        Assert.Equal(0, waiting.Count);
    }

    [Fact]
    public void NextTimeout_is_the_soonest_timeout_of_the_waits_still_there()
    {
        var waiting = new WaitingReserves();
        waiting.Add(_a, At(10), 1);
        waiting.Add(_b, At(20), 2);
        waiting.Add(_c, At(30), 3);
        Assert.Equal(At(10), waiting.NextTimeout);

        waiting.Drop(_a);
        Assert.Equal(At(20), waiting.NextTimeout);

        Assert.True(waiting.TryTakeOldest(out var holder, out _));
        Assert.Equal(_b, holder);
        Assert.Equal(At(30), waiting.NextTimeout);

        Assert.True(waiting.TryTakeOldest(out _, out _));
        Assert.Null(waiting.NextTimeout);
    }

    [Fact]
    public void NextTimeout_does_not_change_what_waits()
    {
        var waiting = new WaitingReserves();
        waiting.Add(_a, At(10), 1);
        waiting.Add(_b, At(20), 2);
        waiting.Drop(_a);

        Assert.Equal(At(20), waiting.NextTimeout);
        Assert.Equal(At(20), waiting.NextTimeout);
        Assert.Equal(1, waiting.Count);
        Assert.Equal([_b], TakeExpired(waiting, At(20)));
    }

    [Fact]
    public void TakeAll_returns_every_waiting_holder_oldest_first_once_per_reserve_and_empties_the_waits()
    {
        var waiting = new WaitingReserves();
        waiting.Add(_b, At(30), 1);
        waiting.Add(_a, At(10), 2);
        waiting.Add(_b, At(20), 3);
        waiting.Add(_c, At(40), 4);
        waiting.Drop(_c);

        Assert.Equal([_b, _a, _b], waiting.TakeAll());

        Assert.Equal(0, waiting.Count);
        Assert.Equal(0, waiting.Of(_a));
        Assert.Equal(0, waiting.Of(_b));
        Assert.Null(waiting.NextTimeout);
        Assert.False(waiting.TryTakeExpired(At(1_000), out _));
        Assert.False(waiting.TryTakeOldest(out _, out _));
    }

    [Fact]
    public void Reserves_added_after_TakeAll_wait_and_time_out_as_usual()
    {
        var waiting = new WaitingReserves();
        waiting.Add(_a, At(10), 1);
        waiting.TakeAll();

        waiting.Add(_b, At(50), 2);

        Assert.Equal(1, waiting.Count);
        Assert.Equal(1, waiting.Of(_b));
        Assert.Equal(At(50), waiting.NextTimeout);
        Assert.Empty(TakeExpired(waiting, At(20)));
        Assert.Equal([_b], TakeExpired(waiting, At(50)));
    }

    // ================================================================ SnapshotPolicy

    [Fact]
    public void A_snapshot_is_due_only_after_every_events()
    {
        var policy = new SnapshotPolicy(every: 3);
        Assert.False(policy.Due);

        policy.Applied();
        policy.Applied();
        Assert.False(policy.Due);

        policy.Applied();
        Assert.True(policy.Due);
        Assert.False(policy.Saving);
    }

    [Fact]
    public void Applied_counts_a_whole_batch_of_events()
    {
        var policy = new SnapshotPolicy(every: 10);

        policy.Applied(9);
        Assert.False(policy.Due);

        policy.Applied(1);
        Assert.True(policy.Due);
    }

    [Fact]
    public void A_snapshot_is_not_due_while_one_is_saving()
    {
        var policy = new SnapshotPolicy(every: 2);
        policy.Applied(2);
        Assert.True(policy.Due);

        policy.Taken(jobs: 0);
        Assert.True(policy.Saving);
        Assert.False(policy.Due);

        policy.Applied(100);
        Assert.False(policy.Due);

        policy.Done();
        Assert.False(policy.Saving);
        Assert.True(policy.Due); // the events applied while saving count toward the next one
    }

    [Fact]
    public void Taken_starts_the_count_again()
    {
        var policy = new SnapshotPolicy(every: 3);
        policy.Applied(5);
        policy.Taken(jobs: 1);
        policy.Done();

        Assert.False(policy.Due);
        policy.Applied(2);
        Assert.False(policy.Due);
        policy.Applied();
        Assert.True(policy.Due);
    }

    [Fact]
    public void After_a_snapshot_of_more_jobs_than_every_as_many_events_as_it_held_jobs_are_needed()
    {
        var policy = new SnapshotPolicy(every: 3);
        policy.Applied(3);
        policy.Taken(jobs: 10);
        policy.Done();

        policy.Applied(9);
        Assert.False(policy.Due);

        policy.Applied();
        Assert.True(policy.Due);
    }

    [Fact]
    public void After_a_snapshot_of_fewer_jobs_than_every_every_events_are_needed()
    {
        var policy = new SnapshotPolicy(every: 5);
        policy.Applied(5);
        policy.Taken(jobs: 2);
        policy.Done();

        policy.Applied(4);
        Assert.False(policy.Due);

        policy.Applied();
        Assert.True(policy.Due);
    }

    [Fact]
    public void Offered_sets_the_job_count_of_the_last_snapshot()
    {
        var policy = new SnapshotPolicy(every: 2);
        policy.Offered(jobs: 6);

        policy.Applied(5);
        Assert.False(policy.Due);

        policy.Applied();
        Assert.True(policy.Due);
    }

    [Fact]
    public void Offered_a_snapshot_of_fewer_jobs_than_every_leaves_every_in_charge()
    {
        var policy = new SnapshotPolicy(every: 4);
        policy.Offered(jobs: 1);

        policy.Applied(3);
        Assert.False(policy.Due);

        policy.Applied();
        Assert.True(policy.Due);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(int.MinValue)]
    public void Every_of_zero_or_less_is_never_due(int every)
    {
        var policy = new SnapshotPolicy(every);

        Assert.False(policy.Due);
        policy.Applied(1_000_000);
        Assert.False(policy.Due);
        policy.Offered(jobs: 0);
        policy.Applied();
        Assert.False(policy.Due);
    }

    // ================================================================ CommandCounters

    /// <summary>Each counted command and its name in the stats (beanstalkd's words where it has one).</summary>
    private static readonly (CountedCommand Command, string Name)[] Names =
    [
        (CountedCommand.Push, "push"),
        (CountedCommand.Reserve, "reserve"),
        (CountedCommand.Complete, "complete"),
        (CountedCommand.Release, "release"),
        (CountedCommand.Bury, "bury"),
        (CountedCommand.Touch, "touch"),
        (CountedCommand.Kick, "kick"),
        (CountedCommand.KickJob, "kick-job"),
        (CountedCommand.Delete, "delete"),
        (CountedCommand.Peek, "peek"),
        (CountedCommand.PeekReady, "peek-ready"),
        (CountedCommand.PeekDelayed, "peek-delayed"),
        (CountedCommand.PeekBuried, "peek-buried"),
        (CountedCommand.GetJob, "get-job"),
        (CountedCommand.Stats, "stats"),
        (CountedCommand.Pause, "pause"),
        (CountedCommand.Resume, "resume"),
        (CountedCommand.ReserveJob, "reserve-job"),
        (CountedCommand.Cancel, "cancel"),
    ];

    [Fact]
    public void ByName_has_every_command_name_once_and_all_start_at_zero()
    {
        var byName = new CommandCounters().ByName();

        Assert.Equal(Names.Select(n => n.Name).Order(StringComparer.Ordinal), byName.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(Enum.GetValues<CountedCommand>().Order(), Names.Select(n => n.Command).Order()); // the table is complete
        Assert.All(byName, entry => Assert.Equal(0, entry.Value));
    }

    [Theory]
    [InlineData(nameof(CountedCommand.Push), "push")]
    [InlineData(nameof(CountedCommand.Reserve), "reserve")]
    [InlineData(nameof(CountedCommand.Complete), "complete")]
    [InlineData(nameof(CountedCommand.Release), "release")]
    [InlineData(nameof(CountedCommand.Bury), "bury")]
    [InlineData(nameof(CountedCommand.Touch), "touch")]
    [InlineData(nameof(CountedCommand.Kick), "kick")]
    [InlineData(nameof(CountedCommand.KickJob), "kick-job")]
    [InlineData(nameof(CountedCommand.Delete), "delete")]
    [InlineData(nameof(CountedCommand.Peek), "peek")]
    [InlineData(nameof(CountedCommand.PeekReady), "peek-ready")]
    [InlineData(nameof(CountedCommand.PeekDelayed), "peek-delayed")]
    [InlineData(nameof(CountedCommand.PeekBuried), "peek-buried")]
    [InlineData(nameof(CountedCommand.GetJob), "get-job")]
    [InlineData(nameof(CountedCommand.Stats), "stats")]
    [InlineData(nameof(CountedCommand.Pause), "pause")]
    [InlineData(nameof(CountedCommand.Resume), "resume")]
    [InlineData(nameof(CountedCommand.ReserveJob), "reserve-job")]
    [InlineData(nameof(CountedCommand.Cancel), "cancel")]
    public void Each_command_is_counted_under_its_own_name(string command, string name)
    {
        var counters = new CommandCounters();
        var counted = Enum.Parse<CountedCommand>(command);

        counters.Count(counted);
        counters.Count(counted);

        var byName = counters.ByName();
        Assert.Equal(2, byName[name]);
        Assert.All(byName.Where(entry => entry.Key != name), entry => Assert.Equal(0, entry.Value));
    }

    [Fact]
    public void Counters_count_each_command_apart()
    {
        var counters = new CommandCounters();
        for (var i = 0; i < 5; i++)
            counters.Count(CountedCommand.Push);
        for (var i = 0; i < 3; i++)
            counters.Count(CountedCommand.Reserve);
        counters.Count(CountedCommand.ReserveJob);
        counters.Count(CountedCommand.PeekBuried);

        var byName = counters.ByName();

        Assert.Equal(5, byName["push"]);
        Assert.Equal(3, byName["reserve"]);
        Assert.Equal(1, byName["reserve-job"]);
        Assert.Equal(1, byName["peek-buried"]);
        Assert.Equal(0, byName["peek"]);
        Assert.Equal(10, byName.Values.Sum());
    }

    [Fact]
    public void ByName_is_a_copy_that_later_counts_do_not_change()
    {
        var counters = new CommandCounters();
        counters.Count(CountedCommand.Stats);
        var before = counters.ByName();

        counters.Count(CountedCommand.Stats);

        Assert.Equal(1, before["stats"]);
        Assert.Equal(2, counters.ByName()["stats"]);
    }
}
