using Linda.Tests.Infrastructure;
using Xunit;
using static Linda.JobQueue;

namespace Linda.Tests;

/// <summary>Cancelling jobs in the pure state: waiting jobs go at once, running ones end as cancelled with their lease.</summary>
public sealed class CancelStateSpec
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly RecordedState _r = new(T0);

    private JobQueueState _s => _r.State;

    private IReply Do(Decision d) => _r.Do(d);

    private void PushJob(string id, TimeSpan? delay = null, TimeSpan? period = null) =>
        Assert.IsType<Pushed>(Do(_s.Push(new Push("jobs", JobPayload.Create("work")) { Id = id, Delay = delay ?? TimeSpan.Zero, Period = period, TimeToRun = TimeSpan.FromSeconds(30) })));

    private Reserved Reserve(long token) => Assert.IsType<Reserved>(Do(_s.Reserve("akka://sys/user/w", token)));

    private void AssertReplayAndSnapshotAgree() => _r.AssertReplayAndSnapshotAgree();

    [Fact]
    public void Ready_delayed_and_buried_jobs_are_removed_at_once_and_counted()
    {
        PushJob("ready");
        PushJob("delayed", delay: TimeSpan.FromMinutes(5));
        PushJob("buried");
        var r = Reserve(1);
        Assert.Equal("ready", r.Job.Id);
        Do(_s.Release(new Release("ready", 1)));
        r = Reserve(2);
        Do(_s.Bury(new Bury(r.Job.Id, 2, "bad")));

        foreach (var id in new[] { "ready", "delayed", "buried" })
            Assert.Equal(new Cancelled(id, WasRunning: false), Do(_s.Cancel(new Cancel(id))));
        Assert.Equal(0, _s.Count);
        Assert.Equal(3, _s.TotalCancelled);
        Assert.IsType<NotFound>(Do(_s.Cancel(new Cancel("ready"))));
        AssertReplayAndSnapshotAgree();
    }

    [Fact]
    public void A_running_job_is_marked_names_its_holder_and_ends_as_cancelled_when_given_back_not_retried()
    {
        PushJob("run");
        var r = Reserve(7);
        Assert.Equal(new Cancelled("run", WasRunning: true), Do(_s.Cancel(new Cancel("run"))));
        Assert.Equal(("akka://sys/user/w", 7L), _s.LeaseOf("run"));
        Assert.True(Assert.IsType<JobView>(_s.View("run")).CancelRequested);
        var again = _s.Cancel(new Cancel("run"));
        Assert.Null(again.Event); // asked once
        Assert.Equal(new Cancelled("run", WasRunning: true), again.Reply);
        AssertReplayAndSnapshotAgree(); // the mark survives a restart

        Do(_s.Release(new Release("run", r.Token) { Error = "OperationCanceledException: cancelled" }));
        Assert.Null(_s.View("run"));
        Assert.Equal(1, _s.TotalCancelled);
        AssertReplayAndSnapshotAgree();
    }

    [Fact]
    public void A_cancelled_run_whose_lease_expires_or_is_buried_ends_as_cancelled_and_one_that_completes_completes()
    {
        PushJob("expires");
        PushJob("buries");
        PushJob("completes", period: TimeSpan.FromMinutes(1));
        var expires = Reserve(1);
        var buries = Reserve(2);
        var completes = Reserve(3);
        foreach (var id in new[] { "expires", "buries", "completes" })
            Do(_s.Cancel(new Cancel(id)));

        Do(_s.Bury(new Bury("buries", buries.Token, "gave up")));
        Do(_s.Complete(new Complete("completes", completes.Token)));
        Assert.Null(_s.View("completes")); // a cancelled periodic job has no next run
        _s.Advance(T0.AddSeconds(31)); // the lease of "expires" runs out
        Assert.Null(_s.View("expires"));
        Assert.Null(_s.View("buries"));
        Assert.Equal(2, _s.TotalCancelled);
        Assert.Equal(0, _s.BuriedCount);
        AssertReplayAndSnapshotAgree();
        _ = expires;
    }

    [Fact]
    public void Progress_is_kept_for_the_current_lease_only_and_is_not_in_the_journal_or_snapshots()
    {
        PushJob("long");
        var r = Reserve(5);
        Assert.True(_s.SetProgress(new ReportProgress("long", 5, 40, "page 4 of 10")));
        var view = Assert.IsType<JobView>(_s.View("long"));
        Assert.Equal((40, "page 4 of 10", T0), (view.Progress, view.ProgressMessage, view.ProgressAt));
        Assert.False(_s.SetProgress(new ReportProgress("long", 4, 90, null))); // a stale lease
        Assert.False(_s.SetProgress(new ReportProgress("long", 5, 101, null)));
        Assert.False(_s.SetProgress(new ReportProgress("nothing", 5, 1, null)));
        Assert.Equal(40, Assert.IsType<JobView>(_s.View("long")).Progress);
        Assert.Null(JobQueueState.FromSnapshot(_s.ToSnapshot()).View("long")!.Progress); // memory only

        Do(_s.Release(new Release("long", r.Token)));
        Assert.Equal(40, Assert.IsType<JobView>(_s.View("long")).Progress); // the last run's, until the next one
        Reserve(6);
        Assert.Null(Assert.IsType<JobView>(_s.View("long")).Progress);
    }
}
