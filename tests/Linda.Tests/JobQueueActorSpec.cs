using Akka.Actor;
using Akka.TestKit;
using Linda.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;
using static Linda.JobQueue;

namespace Linda.Tests;

/// <summary>The queue actor on a real SQLite file, with a manual clock.</summary>
[Collection(DatabaseCollection.Name)]
public sealed class JobQueueActorSpec(ITestOutputHelper output) : QueueSpec(output, new TempFolder())
{
    private static JobPayload Payload(string cls = "work", params object[] args) => TestJobs.Payload(cls, args);

    private Pushed Push(IActorRef queue, Push push)
    {
        queue.Tell(push);
        return ExpectMsg<Pushed>();
    }

    private Reserved ReserveNow(IActorRef queue)
    {
        queue.Tell(new Reserve(TimeSpan.Zero));
        return ExpectMsg<Reserved>();
    }

    private JobView View(IActorRef queue, string id)
    {
        queue.Tell(new GetJob(id));
        return ExpectMsg<JobView>();
    }

    [Fact]
    public void A_queue_lists_a_states_jobs_in_pages_and_refuses_a_bad_cursor()
    {
        var q = StartQueue();
        foreach (var id in new[] { "a", "b", "c" })
            q.Tell(TestJobs.Push(id));
        q.Tell(new ListJobs(JobState.Ready) { Limit = 2 }); // behind the pushes' write: it sees them
        ReceiveN(3, Wait);
        var first = ExpectMsg<JobList>(Wait);
        Assert.Equal(["a", "b"], first.Jobs.Select(j => j.Job.Id));
        Assert.Equal(3, first.Total);
        q.Tell(new ListJobs(JobState.Ready) { After = first.Next, Limit = 2 });
        var second = ExpectMsg<JobList>(Wait);
        Assert.Equal(["c"], second.Jobs.Select(j => j.Job.Id));
        Assert.Null(second.Next);
        q.Tell(new ListJobs(JobState.Ready) { After = "x" });
        Assert.Equal(RejectReason.InvalidCursor, ExpectMsg<Rejected>(Wait).Reason);
    }

    [Fact]
    public void Push_is_answered_and_the_job_can_be_reserved_and_completed()
    {
        var q = StartQueue();
        var pushed = Push(q, new Push("jobs", Payload("printArgs", "a", "b")) { Id = "job-1" });
        Assert.Equal(new Pushed("job-1", JobState.Ready) { Seq = 1 }, pushed);

        var reserved = ReserveNow(q);
        Assert.Equal("job-1", reserved.Job.Id);
        Assert.Equal(1, reserved.Attempt);
        Assert.Equal(Clock.GetUtcNow() + reserved.Job.TimeToRun, reserved.Deadline);
        Assert.Equal("[\"a\",\"b\"]", reserved.Job.Payload.ArgsJson);

        q.Tell(new Complete("job-1", reserved.Token));
        ExpectMsg(new Completed("job-1", null));
        q.Tell(new GetJob("job-1"));
        ExpectMsg(new NotFound("job-1"));
    }

    [Fact]
    public void Waiting_reservers_are_served_in_arrival_order_the_moment_jobs_are_ready()
    {
        var q = StartQueue();
        var probes = Enumerable.Range(0, 3).Select(_ => CreateTestProbe()).ToArray();
        foreach (var p in probes)
            q.Tell(new Reserve(TimeSpan.FromMinutes(1)), p.Ref);
        AwaitWaiting(q, 3);

        foreach (var id in new[] { "a", "b", "c" })
            Push(q, new Push("jobs", Payload()) { Id = id });

        Assert.Equal("a", probes[0].ExpectMsg<Reserved>().Job.Id);
        Assert.Equal("b", probes[1].ExpectMsg<Reserved>().Job.Id);
        Assert.Equal("c", probes[2].ExpectMsg<Reserved>().Job.Id);
    }

    [Fact]
    public void Ready_jobs_are_reserved_by_priority_then_push_order()
    {
        var q = StartQueue();
        Push(q, new Push("jobs", Payload()) { Id = "low-1", Priority = 2000 });
        Push(q, new Push("jobs", Payload()) { Id = "urgent-1", Priority = 0 });
        Push(q, new Push("jobs", Payload()) { Id = "low-2", Priority = 2000 });
        Push(q, new Push("jobs", Payload()) { Id = "urgent-2", Priority = 0 });
        Push(q, new Push("jobs", Payload()) { Id = "normal" });

        var order = Enumerable.Range(0, 5).Select(_ => ReserveNow(q).Job.Id).ToArray();
        Assert.Equal(["urgent-1", "urgent-2", "normal", "low-1", "low-2"], order);
    }

    [Fact]
    public void A_reserve_times_out_when_no_job_becomes_ready_within_its_wait()
    {
        var q = StartQueue();
        q.Tell(new Reserve(TimeSpan.Zero));
        ExpectMsg<ReserveTimedOut>();

        q.Tell(new Reserve(TimeSpan.FromSeconds(5)));
        AwaitWaiting(q, 1);
        Clock.Advance(TimeSpan.FromSeconds(4));
        q.Tell(GetStats.Instance);
        Assert.Equal(1, ExpectMsg<QueueStats>().Waiting);
        Clock.Advance(TimeSpan.FromSeconds(1));
        ExpectMsg<ReserveTimedOut>();
        q.Tell(GetStats.Instance);
        Assert.Equal(0, ExpectMsg<QueueStats>().Waiting);
    }

    [Fact]
    public void A_delayed_job_becomes_ready_at_its_due_time_and_goes_to_a_waiting_reserver()
    {
        var q = StartQueue();
        var pushed = Push(q, Later("jobs", Payload(), TimeSpan.FromSeconds(10)) with { Id = "later" });
        Assert.Equal(JobState.Delayed, pushed.State);
        var due = View(q, "later").DueAt;
        Assert.Equal(Clock.GetUtcNow() + TimeSpan.FromSeconds(10), due);

        var consumer = CreateTestProbe();
        q.Tell(new Reserve(TimeSpan.FromMinutes(5)), consumer.Ref);
        Clock.Advance(TimeSpan.FromSeconds(9));
        Assert.Equal(JobState.Delayed, View(q, "later").State);
        Clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal("later", consumer.ExpectMsg<Reserved>().Job.Id);
    }

    [Fact]
    public void On_the_real_clock_delayed_jobs_and_expired_leases_are_served_by_the_timer()
    {
        var q = Sys.ActorOf(JobQueueActor.Props("jobs", Settings, TimeProvider.System));
        var consumer = CreateTestProbe();
        for (var i = 0; i < 20; i++)
            q.Tell(Later("jobs", Payload(), TimeSpan.FromMilliseconds(5 * i + 1)) with { Id = $"d{i}" });
        ReceiveN(20);
        var seen = new List<string>();
        for (var i = 0; i < 20; i++)
        {
            q.Tell(new Reserve(TimeSpan.FromMinutes(1)), consumer.Ref);
            seen.Add(consumer.ExpectMsg<Reserved>().Job.Id);
        }
        Assert.Equal(Enumerable.Range(0, 20).Select(i => $"d{i}"), seen);

        q.Tell(new Push("jobs", Payload()) { Id = "short", TimeToRun = TimeSpan.FromMilliseconds(100) });
        ExpectMsg<Pushed>();
        q.Tell(new Reserve(TimeSpan.Zero), consumer.Ref);
        Assert.Equal(("short", 1), (consumer.ExpectMsg<Reserved>() is var r ? (r.Job.Id, r.Attempt) : default));
        q.Tell(new Reserve(TimeSpan.FromMinutes(1)), consumer.Ref);
        Assert.Equal(("short", 2), (consumer.ExpectMsg<Reserved>() is var again ? (again.Job.Id, again.Attempt) : default));
    }

    [Fact]
    public void An_expired_lease_returns_the_job_to_ready_and_its_old_token_is_refused()
    {
        var q = StartQueue();
        Push(q, new Push("jobs", Payload()) { Id = "j", TimeToRun = TimeSpan.FromSeconds(5) });
        var first = ReserveNow(q);

        Clock.Advance(TimeSpan.FromSeconds(5));
        var view = View(q, "j");
        Assert.Equal(JobState.Ready, view.State);
        Assert.Equal(1, view.Timeouts);
        q.Tell(new Complete("j", first.Token));
        ExpectMsg(new NotReserved("j", JobState.Ready));

        var second = ReserveNow(q);
        Assert.Equal(2, second.Attempt);
        Assert.NotEqual(first.Token, second.Token);
        q.Tell(new Complete("j", first.Token));
        ExpectMsg(new StaleLease("j"));
        q.Tell(new Release("j", first.Token));
        ExpectMsg(new StaleLease("j"));
        q.Tell(new Bury("j", first.Token, "no"));
        ExpectMsg(new StaleLease("j"));
        q.Tell(new Touch("j", first.Token));
        ExpectMsg(new StaleLease("j"));
        Assert.Equal(JobState.Reserved, View(q, "j").State);

        q.Tell(new Complete("j", second.Token));
        ExpectMsg<Completed>();
    }

    [Fact]
    public void Touch_renews_the_lease_from_now()
    {
        var q = StartQueue();
        Push(q, new Push("jobs", Payload()) { Id = "j", TimeToRun = TimeSpan.FromSeconds(10) });
        var r = ReserveNow(q);
        Clock.Advance(TimeSpan.FromSeconds(8));
        q.Tell(new Touch("j", r.Token));
        Assert.Equal(Clock.GetUtcNow() + TimeSpan.FromSeconds(10), ExpectMsg<Touched>().Deadline);
        Clock.Advance(TimeSpan.FromSeconds(8));
        Assert.Equal(JobState.Reserved, View(q, "j").State);
        Clock.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(JobState.Ready, View(q, "j").State);
    }

    [Fact]
    public void When_a_lease_holder_dies_its_jobs_go_back_to_ready_at_once_and_the_attempt_counts()
    {
        var q = StartQueue();
        Push(q, new Push("jobs", Payload()) { Id = "j1" });
        Push(q, new Push("jobs", Payload()) { Id = "j2" });
        var worker = CreateTestProbe();
        q.Tell(new Reserve(TimeSpan.Zero), worker.Ref);
        q.Tell(new Reserve(TimeSpan.Zero), worker.Ref);
        worker.ExpectMsg<Reserved>();
        worker.ExpectMsg<Reserved>();

        Watch(worker.Ref);
        Sys.Stop(worker.Ref);
        ExpectTerminated(worker.Ref);

        AwaitAssert(() =>
        {
            Assert.Equal(JobState.Ready, View(q, "j1").State);
            Assert.Equal(JobState.Ready, View(q, "j2").State);
        });
        Assert.Equal(1, View(q, "j1").Attempt);
        Assert.Equal(2, ReserveNow(q).Attempt);
    }

    [Fact]
    public void A_job_whose_holders_keep_dying_is_buried_after_its_retries()
    {
        var q = StartQueue();
        Push(q, new Push("jobs", Payload()) { Id = "poison", MaxRetries = 1 });
        for (var attempt = 1; attempt <= 2; attempt++)
        {
            var worker = CreateTestProbe();
            q.Tell(new Reserve(TimeSpan.Zero), worker.Ref);
            Assert.Equal(attempt, worker.ExpectMsg<Reserved>().Attempt);
            Sys.Stop(worker.Ref);
            var expected = attempt == 1 ? JobState.Ready : JobState.Buried;
            AwaitAssert(() => Assert.Equal(expected, View(q, "poison").State));
        }
        var view = View(q, "poison");
        Assert.Contains("attempt 2 of 2", view.LastError);
        Assert.Equal(1, view.Buries);
    }

    [Fact]
    public void Pushing_an_existing_id_is_refused_and_makes_no_second_copy()
    {
        var q = StartQueue();
        Push(q, new Push("jobs", Payload("a")) { Id = "same" });
        q.Tell(new Push("jobs", Payload("b")) { Id = "same" });
        ExpectMsg(new AlreadyExists("same"));
        q.Tell(GetStats.Instance);
        var stats = ExpectMsg<QueueStats>();
        Assert.Equal(1, stats.Jobs);
        Assert.Equal(1, stats.TotalJobs);
        Assert.Equal("a", View(q, "same").Job.Payload.Class);
    }

    [Fact]
    public void Release_bury_kick_and_delete_move_jobs_between_states()
    {
        var q = StartQueue();
        Push(q, new Push("jobs", Payload()) { Id = "r" });
        var r = ReserveNow(q);
        q.Tell(new Release("r", r.Token) { Delay = TimeSpan.FromSeconds(30), Priority = 5, Error = "boom" });
        ExpectMsg(new Released("r", JobState.Delayed));
        var view = View(q, "r");
        Assert.Equal((JobState.Delayed, 5u, "boom", 1), (view.State, view.Priority, view.LastError, view.Releases));

        q.Tell(new KickJob("r"));
        ExpectMsg(new KickedJob("r"));
        r = ReserveNow(q);
        q.Tell(new Bury("r", r.Token, "bad data"));
        ExpectMsg(new Buried("r"));
        q.Tell(PeekBuried.Instance);
        Assert.Equal("bad data", ExpectMsg<JobView>().LastError);

        q.Tell(new Kick(10));
        ExpectMsg(new Kicked(1));
        q.Tell(PeekReady.Instance);
        var ready = ExpectMsg<JobView>();
        Assert.Equal(("r", 2), (ready.Job.Id, ready.Kicks));

        q.Tell(new KickJob("r"));
        ExpectMsg(new NotKickable("r", JobState.Ready));
        q.Tell(new Delete("r"));
        ExpectMsg(new Deleted("r"));
        q.Tell(new Delete("r"));
        ExpectMsg(new NotFound("r"));
        q.Tell(PeekReady.Instance);
        ExpectMsg(new NoJob(JobState.Ready));
    }

    [Fact]
    public void Stats_tell_the_lag_and_the_failed_attempts_and_a_reserved_jobs_view_names_its_holder()
    {
        var q = StartQueue();
        q.Tell(GetStats.Instance);
        var empty = ExpectMsg<QueueStats>();
        Assert.Equal((TimeSpan.Zero, 0L), (empty.Lag, empty.Failures));

        Push(q, new Push("jobs", Payload()) { Id = "old" });
        Clock.Advance(TimeSpan.FromSeconds(5));
        Push(q, new Push("jobs", Payload()) { Id = "new" });
        Clock.Advance(TimeSpan.FromSeconds(2));
        q.Tell(GetStats.Instance);
        Assert.Equal(TimeSpan.FromSeconds(7), ExpectMsg<QueueStats>().Lag); // the oldest ready job's age

        var worker = CreateTestProbe();
        q.Tell(new Reserve(TimeSpan.Zero), worker.Ref);
        var r = worker.ExpectMsg<Reserved>();
        var view = View(q, r.Job.Id);
        Assert.Equal(Akka.Serialization.Serialization.SerializedActorPath(worker.Ref), view.Holder);
        Assert.Null(View(q, "new").Holder);

        q.Tell(new Release(r.Job.Id, r.Token) { Error = "boom" }, worker.Ref);
        worker.ExpectMsg<Released>();
        Assert.Null(View(q, r.Job.Id).Holder);
        q.Tell(new Reserve(TimeSpan.Zero), worker.Ref);
        r = worker.ExpectMsg<Reserved>();
        q.Tell(new Release(r.Job.Id, r.Token), worker.Ref); // no error: not a failure
        worker.ExpectMsg<Released>();
        q.Tell(GetStats.Instance);
        var stats = ExpectMsg<QueueStats>();
        Assert.Equal(1, stats.Failures);
        Assert.Equal(TimeSpan.FromSeconds(2), stats.Lag); // "new" has waited 2 s; "old" is ready again since its release
    }

    [Fact]
    public void A_cancel_removes_a_waiting_job_and_tells_a_running_jobs_holder_which_then_gives_it_back_as_cancelled()
    {
        var q = StartQueue();
        Push(q, new Push("jobs", Payload()) { Id = "running" });
        Push(q, new Push("jobs", Payload()) { Id = "waiting" });
        var worker = CreateTestProbe();
        q.Tell(new Reserve(TimeSpan.Zero), worker.Ref);
        var r = worker.ExpectMsg<Reserved>();
        Assert.Equal("running", r.Job.Id);

        q.Tell(new Cancel("waiting"));
        ExpectMsg(new Cancelled("waiting", WasRunning: false));
        q.Tell(new Cancel("running"));
        ExpectMsg(new Cancelled("running", WasRunning: true));
        worker.ExpectMsg(new CancelJob("running", r.Token)); // the holder is told
        Assert.True(View(q, "running").CancelRequested);

        q.Tell(new Release("running", r.Token) { Error = "OperationCanceledException: the operation was canceled" }, worker.Ref);
        worker.ExpectMsg<Released>();
        q.Tell(new GetJob("running"));
        ExpectMsg(new NotFound("running"));
        q.Tell(GetStats.Instance);
        var stats = ExpectMsg<QueueStats>();
        Assert.Equal((0, 2L, 2L), (stats.Jobs, stats.Cancelled, stats.Commands["cancel"]));
    }

    [Fact]
    public void With_a_rate_limit_waiting_workers_are_served_as_the_bucket_allows_without_polling()
    {
        var limited = Settings with { Limits = Settings.Limits with { MaxReservesPerPeriod = 1, RatePeriod = TimeSpan.FromSeconds(10) } };
        var q = StartQueue(settings: limited);
        for (var i = 0; i < 3; i++)
            Push(q, new Push("jobs", Payload()) { Id = $"r{i}", TimeToRun = TimeSpan.FromHours(1) });
        var workers = Enumerable.Range(0, 3).Select(_ => CreateTestProbe()).ToArray();
        foreach (var w in workers)
            q.Tell(new Reserve(TimeSpan.FromMinutes(5)), w.Ref);
        Assert.Equal("r0", workers[0].ExpectMsg<Reserved>().Job.Id);
        q.Tell(GetStats.Instance);
        var stats = ExpectMsg<QueueStats>();
        Assert.Equal((1, 2, 2), (stats.Reserved, stats.Waiting, stats.Ready)); // no credit for the others yet
        Clock.Advance(TimeSpan.FromSeconds(10)); // the timer serves the next waiting worker then
        Assert.Equal("r1", workers[1].ExpectMsg<Reserved>().Job.Id);
        q.Tell(GetStats.Instance);
        Assert.Equal(1, ExpectMsg<QueueStats>().Waiting);
        Clock.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal("r2", workers[2].ExpectMsg<Reserved>().Job.Id);
    }

    [Fact]
    public void A_unique_key_survives_a_restart_of_the_queue()
    {
        var q = StartQueue();
        Push(q, new Push("jobs", Payload()) { Id = "first", UniqueKey = "sync:7", UniqueFor = TimeSpan.FromMinutes(5) });
        q.Tell(new Push("jobs", Payload()) { Id = "second", UniqueKey = "sync:7" });
        ExpectMsg(new AlreadyExists("first"));
        Settled(q);
        Watch(q);
        Sys.Stop(q);
        ExpectTerminated(q, Wait);

        q = StartQueue(); // recovered from the journal: the key is still taken
        q.Tell(new Push("jobs", Payload()) { Id = "third", UniqueKey = "sync:7" });
        ExpectMsg(new AlreadyExists("first"));
        q.Tell(new Delete("first"));
        ExpectMsg(new Deleted("first"));
        q.Tell(new Push("jobs", Payload()) { Id = "third", UniqueKey = "sync:7" });
        ExpectMsg(new AlreadyExists("first")); // ended, but held for five minutes
        Clock.Advance(TimeSpan.FromMinutes(5));
        q.Tell(new Push("jobs", Payload()) { Id = "third", UniqueKey = "sync:7" });
        Assert.Equal("third", ExpectMsg<Pushed>().JobId);
    }

    [Fact]
    public void A_paused_queue_hands_out_no_jobs_until_the_pause_ends()
    {
        var q = StartQueue();
        q.Tell(new Pause(TimeSpan.FromSeconds(10)));
        Assert.Equal(Clock.GetUtcNow() + TimeSpan.FromSeconds(10), ExpectMsg<Paused>().Until);
        Push(q, new Push("jobs", Payload()) { Id = "p" });
        q.Tell(new Reserve(TimeSpan.Zero));
        ExpectMsg<ReserveTimedOut>();

        var consumer = CreateTestProbe();
        q.Tell(new Reserve(TimeSpan.FromMinutes(1)), consumer.Ref);
        q.Tell(GetStats.Instance);
        Assert.NotNull(ExpectMsg<QueueStats>().PausedUntil);
        Clock.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal("p", consumer.ExpectMsg<Reserved>().Job.Id);

        q.Tell(new Pause(TimeSpan.FromMinutes(1)));
        ExpectMsg<Paused>();
        q.Tell(JobQueue.Resume.Instance);
        ExpectMsg<Resumed>();
        q.Tell(GetStats.Instance);
        Assert.Null(ExpectMsg<QueueStats>().PausedUntil);
    }

    [Fact]
    public void A_periodic_job_is_due_again_one_period_after_its_previous_due_time()
    {
        var q = StartQueue();
        var start = Clock.GetUtcNow();
        Push(q, new Push("jobs", Payload()) { Id = "tick", Period = TimeSpan.FromSeconds(60) });
        Clock.Advance(TimeSpan.FromSeconds(7));
        var r = ReserveNow(q);
        q.Tell(new Complete("tick", r.Token));
        Assert.Equal(start + TimeSpan.FromSeconds(60), ExpectMsg<Completed>().NextRunAt);
        var view = View(q, "tick");
        Assert.Equal((JobState.Delayed, start + TimeSpan.FromSeconds(60)), (view.State, view.DueAt));

        var consumer = CreateTestProbe();
        q.Tell(new Reserve(TimeSpan.FromMinutes(5)), consumer.Ref);
        Clock.Advance(TimeSpan.FromSeconds(53));
        Assert.Equal(1, consumer.ExpectMsg<Reserved>().Attempt);
    }

    [Fact]
    public void Stats_count_jobs_per_state_and_commands()
    {
        var q = StartQueue();
        Push(q, new Push("jobs", Payload()) { Id = "a", Priority = 1 });
        Push(q, new Push("jobs", Payload()) { Id = "b" });
        Push(q, Later("jobs", Payload(), TimeSpan.FromHours(1)) with { Id = "c" });
        Push(q, new Push("jobs", Payload()) { Id = "d" });
        var r = ReserveNow(q);
        q.Tell(new Bury(r.Job.Id, r.Token, "x"));
        ExpectMsg<Buried>();
        ReserveNow(q);

        q.Tell(GetStats.Instance);
        var s = ExpectMsg<QueueStats>();
        Assert.Equal(("jobs", 1, 0, 1, 1, 1, 4L), (s.Queue, s.Ready, s.Urgent, s.Delayed, s.Reserved, s.Buried, s.TotalJobs));
        Assert.Equal(4, s.Commands["push"]);
        Assert.Equal(2, s.Commands["reserve"]);
        Assert.Equal(1, s.Commands["bury"]);
        Assert.Equal(1, s.Commands["stats"]);
    }

    [Fact]
    public void A_graceful_stop_writes_what_is_pending_answers_the_rest_unavailable_and_a_new_queue_has_it_all()
    {
        var q = StartQueue("handover");
        var waiter = CreateTestProbe();
        q.Tell(new Reserve(TimeSpan.FromMinutes(5)), waiter.Ref);
        AwaitWaiting(q, 1);
        // The waiter takes the first job; the rest are acknowledged only once written.
        for (var i = 0; i < 50; i++)
            q.Tell(new Push("handover", Payload()) { Id = $"job-{i}" });
        Watch(q);
        q.Tell(JobQueueActor.StopGracefully.Instance);
        q.Tell(new Push("handover", Payload()) { Id = "too-late" });

        // Terminated is a system message: it may overtake the last replies.
        var acknowledged = new List<string>();
        var unavailable = 0;
        var terminated = false;
        for (var i = 0; i < 52; i++)
        {
            switch (ExpectMsg<object>(Wait))
            {
                case Pushed p: acknowledged.Add(p.JobId); break;
                case Unavailable: unavailable++; break;
                case Terminated t when t.ActorRef.Equals(q): terminated = true; break;
                case var other: Assert.Fail($"unexpected {other}"); break;
            }
        }
        Assert.True(terminated);
        Assert.Equal(50, acknowledged.Count);
        Assert.Equal(1, unavailable);
        var leased = waiter.ExpectMsg<Reserved>(Wait);
        Assert.Equal("job-0", leased.Job.Id);

        var again = StartQueue("handover");
        again.Tell(GetStats.Instance);
        var stats = ExpectMsg<QueueStats>(Wait);
        Assert.Equal((49, 1, 50L), (stats.Ready, stats.Reserved, stats.TotalJobs));
        again.Tell(new GetJob("too-late"));
        ExpectMsg<NotFound>();
    }

    [Fact]
    public void A_graceful_stop_answers_waiting_reserves_unavailable()
    {
        var q = StartQueue("idle");
        var waiter = CreateTestProbe();
        q.Tell(new Reserve(TimeSpan.FromMinutes(5)), waiter.Ref);
        AwaitWaiting(q, 1);
        Watch(q);
        q.Tell(JobQueueActor.StopGracefully.Instance);
        waiter.ExpectMsg<Unavailable>(Wait);
        ExpectTerminated(q, Wait);
    }

    [Fact]
    public void A_reserve_from_a_holder_that_holds_none_puts_the_leases_on_record_for_it_back_in_ready()
    {
        var q = StartQueue();
        Push(q, new Push("jobs", Payload()) { Id = "lost" });
        Push(q, new Push("jobs", Payload()) { Id = "other" });
        var worker = CreateTestProbe();
        q.Tell(new Reserve(TimeSpan.Zero), worker.Ref);
        var first = worker.ExpectMsg<Reserved>();
        Assert.Equal("lost", first.Job.Id);

        // A plain reserve takes another job and keeps the lease.
        q.Tell(new Reserve(TimeSpan.Zero), worker.Ref);
        var second = worker.ExpectMsg<Reserved>();
        Assert.Equal("other", second.Job.Id);
        q.Tell(new Complete("other", second.Token), worker.Ref);
        worker.ExpectMsg<Completed>();

        // As if the first Reserved had never arrived: the worker says it holds nothing.
        q.Tell(new Reserve(TimeSpan.Zero) { HoldsNone = true }, worker.Ref);
        var again = worker.ExpectMsg<Reserved>();
        Assert.Equal(("lost", 2), (again.Job.Id, again.Attempt));
        Assert.NotEqual(first.Token, again.Token);
        q.Tell(new Complete("lost", first.Token), worker.Ref);
        worker.ExpectMsg<StaleLease>();
        q.Tell(new GetJob("lost"));
        Assert.Equal("the lease never reached its holder", ExpectMsg<JobView>().LastError);
    }

    [Fact]
    public void A_stale_reserve_is_dropped_and_a_newer_one_forgets_only_the_leases_of_older_reserves()
    {
        var q = StartQueue();
        Push(q, new Push("jobs", Payload()) { Id = "a" });
        Push(q, new Push("jobs", Payload()) { Id = "b" });
        var worker = CreateTestProbe();

        q.Tell(new Reserve(TimeSpan.Zero) { HoldsNone = true, Pull = 3 }, worker.Ref);
        var third = worker.ExpectMsg<Reserved>();
        Assert.Equal(("a", 3L), (third.Job.Id, third.Pull));

        // Reserve 2 was given up on by the worker and arrives late: dropped, unanswered, no lease lost.
        q.Tell(new Reserve(TimeSpan.Zero) { HoldsNone = true, Pull = 2 }, worker.Ref);
        q.Tell(GetStats.Instance, worker.Ref);
        var stats = worker.ExpectMsg<QueueStats>();
        Assert.Equal((1, 1), (stats.Ready, stats.Reserved));

        // Reserve 4 says the worker holds nothing from reserves before it: lease 3 never reached it.
        q.Tell(new Reserve(TimeSpan.Zero) { HoldsNone = true, Pull = 4 }, worker.Ref);
        var fourth = worker.ExpectMsg<Reserved>();
        Assert.Equal(("a", 2, 4L), (fourth.Job.Id, fourth.Attempt, fourth.Pull));

        // A second reserve with the same number keeps that number's lease.
        q.Tell(new Reserve(TimeSpan.Zero) { HoldsNone = true, Pull = 4 }, worker.Ref);
        Assert.Equal("b", worker.ExpectMsg<Reserved>().Job.Id);
        q.Tell(new Complete("a", fourth.Token), worker.Ref);
        worker.ExpectMsg<Completed>();
    }

    [Fact]
    public void A_newer_reserve_replaces_the_waiting_reserve_of_the_same_sender()
    {
        var q = StartQueue();
        var worker = CreateTestProbe();
        q.Tell(new Reserve(TimeSpan.FromMinutes(5)) { HoldsNone = true, Pull = 1 }, worker.Ref);
        q.Tell(new Reserve(TimeSpan.FromMinutes(5)) { HoldsNone = true, Pull = 2 }, worker.Ref);
        AwaitWaiting(q, 1);
        Push(q, new Push("jobs", Payload()) { Id = "a" });
        Assert.Equal(2, worker.ExpectMsg<Reserved>().Pull);
    }

    /// <summary>Waits until the queue holds <paramref name="count"/> waiting reserves.</summary>
    private void AwaitWaiting(IActorRef q, int count) => AwaitAssert(() =>
    {
        q.Tell(GetStats.Instance);
        Assert.Equal(count, ExpectMsg<QueueStats>().Waiting);
    });
}
