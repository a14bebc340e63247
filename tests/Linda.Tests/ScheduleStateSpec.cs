using Linda.Tests.Infrastructure;
using Xunit;
using static Linda.JobQueue;

namespace Linda.Tests;

/// <summary>
/// Recurring schedules in the pure state, on a manual clock: when occurrences fire and what each makes
/// (one job per occurrence, with its id), misfires after an outage or a pause, overlap, time zones across
/// daylight-saving changes, removal, replay and snapshots. Every decision is applied and kept, so each
/// spec also checks that replaying its events and restoring its snapshot give the same state.
/// </summary>
public sealed class ScheduleStateSpec
{
    private const string Q = "jobs";
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly JobPayload Report = JobPayload.Create("report", "daily");
    private readonly RecordedState _r = new(T0);

    private JobQueueState _s => _r.State;

    private static DateTimeOffset At(double seconds) => T0 + TimeSpan.FromSeconds(seconds);

    private void Apply(Decision d) => _r.Accept(d);

    private ScheduleSaved Save(AddOrUpdateSchedule cmd)
    {
        var d = _s.SaveSchedule(cmd);
        Apply(d);
        return Assert.IsType<ScheduleSaved>(d.Reply);
    }

    /// <summary>Moves the clock to <paramref name="at"/> and fires what is due, as the queue actor does; returns the events of the firings.</summary>
    private List<ScheduleFired> Go(DateTimeOffset at)
    {
        _s.Advance(at);
        var fired = new List<ScheduleFired>();
        while (_s.FireDueSchedule() is { } d)
        {
            Apply(d);
            fired.Add(Assert.IsType<ScheduleFired>(d.Event));
        }
        return fired;
    }

    private List<string> ReadyIds() => _s.ReadyJobs.Select(v => v.Job.Id).ToList();

    private ScheduleView View(string id = "daily") => Assert.Single(_s.Schedules(), v => v.Definition.ScheduleId == id);

    private void AssertReplayAndSnapshotAgree()
    {
        _r.AssertReplayAndSnapshotAgree();
        var restored = JobQueueState.FromSnapshot(_s.ToSnapshot());
        Assert.Equal(_s.Schedules(), restored.Schedules());
    }

    [Fact]
    public void A_schedule_fires_at_each_occurrence_making_one_job_with_the_occurrences_id()
    {
        var saved = Save(new AddOrUpdateSchedule("daily", "0 13 * * *", Report));
        Assert.Equal(At(3600), saved.NextRunAt);
        Assert.Equal(At(3600), _s.NextDueAt); // the queue's timer waits for it

        Assert.Empty(Go(At(3599)));
        Assert.Empty(ReadyIds());
        var fired = Assert.Single(Go(At(3600)));
        Assert.Equal([At(3600)], fired.Runs);
        Assert.Equal(["daily/20260101T130000Z"], ReadyIds());
        var job = Assert.IsType<JobView>(_s.View("daily/20260101T130000Z"));
        Assert.Equal(Report, job.Job.Payload);
        Assert.Equal(At(86400 + 3600), _s.NextDueAt);

        Go(At(86400 + 3600));
        Assert.Equal(["daily/20260101T130000Z", "daily/20260102T130000Z"], ReadyIds());
        var view = View();
        Assert.Equal((2L, 0L, "daily/20260102T130000Z"), (view.Runs, view.Skipped, view.LastJobId));
        AssertReplayAndSnapshotAgree();
    }

    [Fact]
    public void Six_fields_put_seconds_first_and_a_run_a_little_late_is_on_time()
    {
        Save(new AddOrUpdateSchedule("daily", "*/20 * * * * *", Report) { Priority = 5, TimeToRun = TimeSpan.FromSeconds(30), MaxRetries = 1 });
        var fired = Assert.Single(Go(At(23))); // the timer came 3 s late: within the grace, on time
        Assert.Equal([At(20)], fired.Runs);
        Assert.Equal(0, fired.Skipped);
        var job = Assert.IsType<JobView>(_s.View("daily/20260101T120020Z")).Job;
        Assert.Equal((5u, TimeSpan.FromSeconds(30), (int?)1), (job.Priority, job.TimeToRun, job.MaxRetries));
    }

    [Theory]
    [InlineData(Misfire.RunOnce, new[] { "daily/20260104T130000Z" }, 2)]
    [InlineData(Misfire.Skip, new string[0], 3)]
    [InlineData(Misfire.RunAll, new[] { "daily/20260102T130000Z", "daily/20260103T130000Z", "daily/20260104T130000Z" }, 0)]
    public void Runs_missed_while_the_queue_was_down_follow_the_misfire_rule(Misfire misfire, string[] made, int skipped)
    {
        Save(new AddOrUpdateSchedule("daily", "0 13 * * *", Report) { Misfire = misfire });
        Go(At(3600));
        // Down from Jan 1 13:00 to Jan 4 20:00: the runs of the 2nd, 3rd and 4th were missed.
        var fired = Assert.Single(Go(new DateTimeOffset(2026, 1, 4, 20, 0, 0, TimeSpan.Zero)));
        Assert.Equal(skipped, fired.Skipped);
        Assert.Equal(["daily/20260101T130000Z", .. made], ReadyIds());
        Assert.Equal(new DateTimeOffset(2026, 1, 5, 13, 0, 0, TimeSpan.Zero), View().NextRunAt); // then on schedule
        AssertReplayAndSnapshotAgree();
    }

    [Fact]
    public void Run_all_makes_at_most_the_limits_latest_missed_runs()
    {
        var s = new JobQueueState(Q, new QueueLimits { MaxMisfireRuns = 2 });
        s.Advance(T0);
        s.Apply(s.SaveSchedule(new AddOrUpdateSchedule("m", "* * * * *", Report) { Misfire = Misfire.RunAll }).Event!);
        s.Advance(At(10 * 60 + 30)); // ten minutes missed
        var fired = Assert.IsType<ScheduleFired>(s.FireDueSchedule()!.Value.Event);
        Assert.Equal([At(9 * 60), At(10 * 60)], fired.Runs);
        Assert.Equal(8, fired.Skipped);
    }

    [Fact]
    public void While_the_queue_is_paused_nothing_fires_and_its_end_decides_the_missed_runs()
    {
        Save(new AddOrUpdateSchedule("daily", "*/10 * * * *", Report) { Misfire = Misfire.RunOnce });
        Apply(_s.Pause(new Pause(TimeSpan.FromMinutes(35))));
        Assert.Equal(At(35 * 60), _s.NextDueAt); // the pause's end, not the schedule's due runs
        Assert.Empty(Go(At(30 * 60)));
        Assert.Empty(ReadyIds());
        var fired = Assert.Single(Go(At(35 * 60)));
        Assert.Equal([At(30 * 60)], fired.Runs); // 12:10, 12:20 and 12:30 were due: one catch-up run
        Assert.Equal(2, fired.Skipped);
        AssertReplayAndSnapshotAgree();
    }

    [Fact]
    public void Overlap_skip_makes_no_run_while_the_previous_one_is_leased()
    {
        Save(new AddOrUpdateSchedule("daily", "*/10 * * * *", Report) { Overlap = Overlap.Skip, TimeToRun = TimeSpan.FromHours(1) });
        Go(At(600));
        Apply(_s.Reserve("w1", 1));
        var fired = Assert.Single(Go(At(1200)));
        Assert.Empty(fired.Runs);
        Assert.Equal(1, fired.Skipped);
        Apply(_s.Complete(new Complete("daily/20260101T121000Z", 1)));
        Go(At(1800));
        Assert.Equal(["daily/20260101T123000Z"], ReadyIds());
        Assert.Equal((2L, 1L), (View().Runs, View().Skipped));
        AssertReplayAndSnapshotAgree();
    }

    [Fact]
    public void Overlap_queue_makes_the_run_due_meanwhile_once_the_previous_one_has_ended()
    {
        Save(new AddOrUpdateSchedule("daily", "*/10 * * * *", Report) { Overlap = Overlap.Queue, TimeToRun = TimeSpan.FromHours(1) });
        Go(At(600));
        Apply(_s.Reserve("w1", 1));
        Assert.Empty(Assert.Single(Go(At(1200))).Runs);
        Go(At(1800)); // two runs due while the first one runs: they are one
        Assert.Equal(At(1200), View().PendingSince);
        Assert.Empty(ReadyIds());

        Apply(_s.Complete(new Complete("daily/20260101T121000Z", 1)));
        var fired = Assert.Single(Go(At(1801)));
        Assert.Equal([At(1200)], fired.Runs);
        Assert.Equal(["daily/20260101T122000Z"], ReadyIds());
        Assert.Null(View().PendingSince);
        Assert.Equal((2L, 1L), (View().Runs, View().Skipped));
        AssertReplayAndSnapshotAgree();
    }

    [Fact]
    public void Overlap_allow_makes_every_run_and_an_update_keeps_what_the_schedule_did()
    {
        Save(new AddOrUpdateSchedule("daily", "*/10 * * * *", Report) { TimeToRun = TimeSpan.FromHours(1) });
        Go(At(600));
        Apply(_s.Reserve("w1", 1));
        Go(At(1200));
        Assert.Equal(["daily/20260101T122000Z"], ReadyIds());
        Assert.Equal(2, _s.Count);

        // Saving the schedule again keeps what it did; its next run is computed from now.
        Save(new AddOrUpdateSchedule("daily", "*/10 * * * *", Report) { TimeToRun = TimeSpan.FromHours(1) });
        Assert.Equal(At(1800), View().NextRunAt);
        Assert.Equal(2L, View().Runs); // kept across the update
    }

    [Fact]
    public void In_a_time_zone_a_skipped_hours_run_happens_once_and_a_repeated_hours_runs_once()
    {
        // Europe/Berlin: 2026-03-29 02:00 → 03:00 (skipped hour), 2026-10-25 03:00 → 02:00 (repeated hour).
        var s = new JobQueueState(Q);
        s.Advance(new DateTimeOffset(2026, 3, 28, 12, 0, 0, TimeSpan.Zero));
        var saved = Assert.IsType<ScheduleSaved>(s.SaveSchedule(new AddOrUpdateSchedule("night", "30 2 * * *", Report) { TimeZone = "Europe/Berlin" }).Reply);
        s.Apply(s.SaveSchedule(new AddOrUpdateSchedule("night", "30 2 * * *", Report) { TimeZone = "Europe/Berlin" }).Event!);
        Assert.Equal(new DateTimeOffset(2026, 3, 29, 1, 0, 0, TimeSpan.Zero), saved.NextRunAt); // 03:00 CEST, once
        s.Advance(new DateTimeOffset(2026, 3, 29, 1, 0, 1, TimeSpan.Zero));
        s.Apply(s.FireDueSchedule()!.Value.Event!);
        Assert.Equal(new DateTimeOffset(2026, 3, 30, 0, 30, 0, TimeSpan.Zero), s.Schedules()[0].NextRunAt); // 02:30 CEST the next day

        var fall = new JobQueueState(Q);
        fall.Advance(new DateTimeOffset(2026, 10, 24, 12, 0, 0, TimeSpan.Zero));
        fall.Apply(fall.SaveSchedule(new AddOrUpdateSchedule("night", "30 2 * * *", Report) { TimeZone = "Europe/Berlin" }).Event!);
        var runs = new List<DateTimeOffset>();
        for (var t = new DateTimeOffset(2026, 10, 24, 12, 0, 0, TimeSpan.Zero); t < new DateTimeOffset(2026, 10, 26, 12, 0, 0, TimeSpan.Zero); t += TimeSpan.FromMinutes(5))
        {
            fall.Advance(t);
            while (fall.FireDueSchedule() is { Event: ScheduleFired f } d)
            {
                fall.Apply(d.Event!);
                runs.AddRange(f.Runs);
            }
        }
        Assert.Equal([new DateTimeOffset(2026, 10, 25, 0, 30, 0, TimeSpan.Zero), new DateTimeOffset(2026, 10, 26, 1, 30, 0, TimeSpan.Zero)], runs);
    }

    [Fact]
    public void A_removed_schedule_fires_no_more_and_its_runs_stay()
    {
        Save(new AddOrUpdateSchedule("daily", "*/10 * * * *", Report));
        Go(At(600));
        var d = _s.RemoveSchedule(new RemoveSchedule("daily"));
        Apply(d);
        Assert.Equal(new ScheduleRemoved("daily"), d.Reply);
        Assert.Empty(Go(At(3600)));
        Assert.Equal(["daily/20260101T121000Z"], ReadyIds());
        Assert.Null(_s.NextDueAt);
        Assert.IsType<NotFound>(_s.RemoveSchedule(new RemoveSchedule("daily")).Reply);
        AssertReplayAndSnapshotAgree();
    }

    [Theory]
    [InlineData("0 13 * *", "has 4 fields")]
    [InlineData("61 * * * *", "not valid")]
    [InlineData("", "needs a cron expression")]
    public void A_bad_expression_is_refused_with_the_reason(string cron, string reason)
    {
        var refused = Assert.IsType<Rejected>(_s.SaveSchedule(new AddOrUpdateSchedule("s", cron, Report)).Reply);
        Assert.Equal(RejectReason.InvalidSchedule, refused.Reason);
        Assert.Contains(reason, refused.Message);
        Assert.Null(_s.SaveSchedule(new AddOrUpdateSchedule("s", cron, Report)).Event);
    }

    [Fact]
    public void A_bad_time_zone_id_payload_or_limit_is_refused()
    {
        Assert.Contains("Mars/Olympus", Assert.IsType<Rejected>(_s.SaveSchedule(new AddOrUpdateSchedule("s", "* * * * *", Report) { TimeZone = "Mars/Olympus" }).Reply).Message);
        Assert.Equal(RejectReason.InvalidJobId, Assert.IsType<Rejected>(_s.SaveSchedule(new AddOrUpdateSchedule("a b", "* * * * *", Report)).Reply).Reason);
        Assert.Equal(RejectReason.InvalidJobId, Assert.IsType<Rejected>(_s.SaveSchedule(new AddOrUpdateSchedule(new string('s', 190), "* * * * *", Report)).Reply).Reason);
        Assert.Equal(RejectReason.InvalidTimeToRun, Assert.IsType<Rejected>(_s.SaveSchedule(new AddOrUpdateSchedule("s", "* * * * *", Report) { TimeToRun = TimeSpan.Zero }).Reply).Reason);
        Assert.Equal(RejectReason.PayloadTooLarge, Assert.IsType<Rejected>(_s.SaveSchedule(new AddOrUpdateSchedule("s", "* * * * *", JobPayload.Create("big", new string('x', 70_000)))).Reply).Reason);

        var small = new JobQueueState(Q, new QueueLimits { MaxSchedules = 1 });
        small.Apply(small.SaveSchedule(new AddOrUpdateSchedule("one", "* * * * *", Report)).Event!);
        Assert.Equal(RejectReason.InvalidSchedule, Assert.IsType<Rejected>(small.SaveSchedule(new AddOrUpdateSchedule("two", "* * * * *", Report)).Reply).Reason);
        Assert.NotNull(small.SaveSchedule(new AddOrUpdateSchedule("one", "*/2 * * * *", Report)).Event); // replacing is fine
    }
}
