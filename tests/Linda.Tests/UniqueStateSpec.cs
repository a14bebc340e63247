using Linda.Tests.Infrastructure;
using Xunit;
using static Linda.JobQueue;

namespace Linda.Tests;

/// <summary>Unique jobs in the pure state: a key taken while its job is in the queue and for its hold after, bounded memory, replay and snapshots.</summary>
public sealed class UniqueStateSpec
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly RecordedState _r = new(T0);

    private JobQueueState _s => _r.State;

    private IReply Do(Decision d) => _r.Do(d);

    private IReply Push(string? id, string key, TimeSpan? holdFor = null) =>
        Do(_s.Push(new Push("jobs", JobPayload.Create("sync", "customer-7")) { Id = id, UniqueKey = key, UniqueFor = holdFor }));

    private void AssertReplayAndSnapshotAgree()
    {
        _r.AssertReplayAndSnapshotAgree();
        Assert.Equal(_s.UniqueKeyCount, JobQueueState.FromSnapshot(_s.ToSnapshot()).UniqueKeyCount);
    }

    [Fact]
    public void A_second_push_with_the_key_while_its_job_is_in_the_queue_answers_the_existing_jobs_id_and_pushes_nothing()
    {
        Assert.IsType<Pushed>(Push("first", "sync:customer-7"));
        Assert.Equal(new AlreadyExists("first"), Push("second", "sync:customer-7"));
        Assert.Equal(new AlreadyExists("first"), Push(null, "sync:customer-7"));
        Assert.Equal(1, _s.Count);
        Assert.IsType<Pushed>(Push("other", "sync:customer-8")); // another key
        Assert.Equal("sync:customer-7", Assert.IsType<JobView>(_s.View("first")).Job.UniqueKey);

        // Buried, it is still in the queue: the key stays taken.
        var r = Assert.IsType<Reserved>(Do(_s.Reserve("w", 1)));
        Do(_s.Bury(new Bury(r.Job.Id, 1, "bad")));
        Assert.Equal(new AlreadyExists("first"), Push("third", "sync:customer-7"));
        AssertReplayAndSnapshotAgree();

        // Deleted, the key is free (no hold asked).
        Do(_s.Delete(new Delete("first")));
        Assert.IsType<Pushed>(Push("third", "sync:customer-7"));
        AssertReplayAndSnapshotAgree();
    }

    [Fact]
    public void With_a_hold_the_key_stays_taken_after_the_job_completed_and_is_dropped_when_the_hold_is_over()
    {
        Assert.IsType<Pushed>(Push("first", "digest", TimeSpan.FromMinutes(10)));
        var r = Assert.IsType<Reserved>(Do(_s.Reserve("w", 1)));
        Do(_s.Complete(new Complete(r.Job.Id, 1)));
        Assert.Equal(0, _s.Count);
        Assert.Equal(new AlreadyExists("first"), Push("again", "digest")); // finished less than 10 min ago
        Assert.Equal(1, _s.UniqueKeyCount);
        AssertReplayAndSnapshotAgree();

        _s.Advance(T0.AddMinutes(10));
        Assert.Equal(0, _s.UniqueKeyCount); // memory is bounded: an expired key is dropped
        Assert.IsType<Pushed>(Push("again", "digest"));
        AssertReplayAndSnapshotAgree();
    }

    [Fact]
    public void Many_short_holds_leave_nothing_behind()
    {
        for (var i = 0; i < 1000; i++)
        {
            Assert.IsType<Pushed>(Push($"j{i}", $"k{i}", TimeSpan.FromSeconds(1)));
            var r = Assert.IsType<Reserved>(Do(_s.Reserve("w", i + 1)));
            Do(_s.Complete(new Complete(r.Job.Id, i + 1)));
        }
        Assert.Equal(1000, _s.UniqueKeyCount);
        _s.Advance(T0.AddSeconds(2));
        Assert.Equal(0, _s.UniqueKeyCount);
        Assert.Empty(_s.ToSnapshot().UniqueHolds);
    }

    [Theory]
    [InlineData("", null, "1 to 200")]
    [InlineData("bad\nkey", null, "printable")]
    [InlineData("k", -1.0, "outside")]
    public void A_bad_key_or_hold_is_refused(string key, double? holdSeconds, string reason)
    {
        var refused = Assert.IsType<Rejected>(Push("x", key, holdSeconds is { } h ? TimeSpan.FromSeconds(h) : null));
        Assert.Equal(RejectReason.InvalidUnique, refused.Reason);
        Assert.Contains(reason, refused.Message);
        Assert.Equal(RejectReason.InvalidUnique, Assert.IsType<Rejected>(Do(_s.Push(new Push("jobs", JobPayload.Create("x")) { UniqueFor = TimeSpan.FromSeconds(1) }))).Reason);
    }

    [Fact]
    public void A_runs_timeout_is_the_pushs_or_the_queues_default_and_a_bad_one_is_refused()
    {
        var s = new JobQueueState("jobs", new QueueLimits { DefaultTimeout = TimeSpan.FromMinutes(2) });
        s.Advance(T0);
        s.Apply(s.Push(new Push("jobs", JobPayload.Create("x")) { Id = "own", Timeout = TimeSpan.FromSeconds(5) }).Event!);
        s.Apply(s.Push(new Push("jobs", JobPayload.Create("x")) { Id = "default" }).Event!);
        Assert.Equal(TimeSpan.FromSeconds(5), s.View("own")!.Job.Timeout);
        Assert.Equal(TimeSpan.FromMinutes(2), s.View("default")!.Job.Timeout);
        Assert.Null(Assert.IsType<JobPushed>(_s.Push(new Push("jobs", JobPayload.Create("x")) { Id = "none" }).Event).Job.Timeout); // no default: none
        Assert.Equal(RejectReason.InvalidTimeToRun, Assert.IsType<Rejected>(s.Push(new Push("jobs", JobPayload.Create("x")) { Timeout = TimeSpan.FromDays(2) }).Reply).Reason);
        Assert.Equal(TimeSpan.FromSeconds(5), JobQueueState.FromSnapshot(s.ToSnapshot()).View("own")!.Job.Timeout); // kept in snapshots
    }
}
