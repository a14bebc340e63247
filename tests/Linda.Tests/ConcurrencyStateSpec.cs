using Linda.Tests.Infrastructure;
using Xunit;
using static Linda.JobQueue;

namespace Linda.Tests;

/// <summary>Per-key concurrency limits in the pure state: no more leases per key than its limit, no head-of-line blocking, order kept, replay and snapshots agree.</summary>
public sealed class ConcurrencyStateSpec
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly QueueLimits Limits = new() { MaxConcurrentPerKey = 1, ConcurrencyOverrides = new Dictionary<string, int> { ["big"] = 2 } };
    private readonly RecordedState _r = new(T0, Limits);
    private long _token;

    private JobQueueState _s => _r.State;

    private IReply Do(Decision d) => _r.Do(d);

    private void PushJob(string id, string? key, uint priority = 1024) =>
        Assert.IsType<Pushed>(Do(_s.Push(new Push("jobs", JobPayload.Create("work")) { Id = id, ConcurrencyKey = key, Priority = priority, TimeToRun = TimeSpan.FromHours(1) })));

    private string? ReserveNext() => _s.CanReserve ? Assert.IsType<Reserved>(Do(_s.Reserve("w", ++_token))).Job.Id : null;

    private void AssertReplayAndSnapshotAgree()
    {
        _r.AssertReplayAndSnapshotAgree();
        Assert.Equal(_s.HeldCount, JobQueueState.FromSnapshot(_s.ToSnapshot(), Limits).HeldCount);
    }

    [Fact]
    public void A_key_at_its_limit_holds_its_other_jobs_back_while_other_keys_go_ahead()
    {
        PushJob("a1", "a");
        PushJob("a2", "a");
        PushJob("a3", "a");
        PushJob("b1", "b");
        PushJob("free", null);

        Assert.Equal("a1", ReserveNext());
        Assert.Equal(2, _s.HeldCount); // a2, a3 wait for a's slot
        Assert.Equal(4, _s.ReadyCount); // still ready, counted
        Assert.Equal("b1", ReserveNext()); // no head-of-line blocking behind a2
        Assert.Equal("free", ReserveNext());
        Assert.Null(ReserveNext());
        Assert.Equal(1, _s.LeasesOfKey("a"));
        AssertReplayAndSnapshotAgree();

        Do(_s.Complete(new Complete("a1", 1)));
        Assert.Equal("a2", ReserveNext()); // in order
        Assert.Null(ReserveNext());
        AssertReplayAndSnapshotAgree();
    }

    [Fact]
    public void An_override_gives_a_key_its_own_limit_and_a_release_an_expiry_or_a_delete_frees_a_slot()
    {
        foreach (var id in new[] { "g1", "g2", "g3" })
            PushJob(id, "big");
        Assert.Equal("g1", ReserveNext());
        Assert.Equal("g2", ReserveNext());
        Assert.Null(ReserveNext()); // big's limit is 2

        Do(_s.Release(new Release("g1", 1) { Delay = TimeSpan.FromMinutes(1) }));
        Assert.Equal("g3", ReserveNext());
        Do(_s.Delete(new Delete("g2")));
        Assert.Null(ReserveNext()); // g1 is delayed
        _s.Advance(T0.AddMinutes(1));
        Assert.Equal("g1", ReserveNext());
        AssertReplayAndSnapshotAgree();

        _s.Advance(T0.AddHours(2)); // both leases expire: their jobs are ready again, one slot each
        Assert.Equal(2, _s.ReadyCount);
        Assert.Equal(0, _s.HeldCount);
        AssertReplayAndSnapshotAgree();
    }

    [Fact]
    public void A_held_job_that_is_deleted_or_kicked_leaves_its_keys_line()
    {
        PushJob("a1", "a");
        PushJob("a2", "a");
        PushJob("a3", "a");
        ReserveNext();
        Do(_s.Delete(new Delete("a2"))); // held: removed from the key's line
        Assert.Equal(1, _s.HeldCount);
        Do(_s.Complete(new Complete("a1", 1)));
        Assert.Equal("a3", ReserveNext());
        Assert.Equal(0, _s.HeldCount);
        AssertReplayAndSnapshotAgree();
    }

    [Fact]
    public void A_thousand_keys_with_a_limit_of_one_never_lease_twice_at_once()
    {
        var rng = new Random(7);
        for (var i = 0; i < 3000; i++)
            PushJob($"j{i}", $"k{rng.Next(1000)}");
        var leased = new Dictionary<string, string>();
        while (_s.CanReserve)
        {
            var r = Assert.IsType<Reserved>(Do(_s.Reserve("w", ++_token)));
            Assert.True(leased.TryAdd(r.Job.ConcurrencyKey!, r.Job.Id), $"key {r.Job.ConcurrencyKey} leased twice");
        }
        Assert.Equal(3000 - leased.Count, _s.HeldCount);
        AssertReplayAndSnapshotAgree();
    }
}
