using Linda.Tests.Infrastructure;
using Xunit;
using static Linda.JobQueue;

namespace Linda.Tests;

/// <summary>
/// Unit tests of the pure state machine <see cref="JobQueueState"/>: no actors and no clock. Time
/// enters through <see cref="JobQueueState.Advance"/> and through the <c>At</c> of each event; every
/// accepted decision is applied the way the queue actor applies it (decide, then <c>Apply</c>).
/// </summary>
public sealed class JobQueueStateSpec
{
    private const string Q = "jobs";
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly JobPayload Work = JobPayload.Create("printArgs", 1, "two");

    private readonly List<IEvent> _events = [];
    private JobQueueState _s;
    private long _lastToken = 100;

    public JobQueueStateSpec() => _s = NewState();

    // ================================================================ helpers

    private static JobQueueState NewState(QueueLimits? limits = null)
    {
        var state = new JobQueueState(Q, limits);
        state.Advance(T0);
        return state;
    }

    private void UseLimits(QueueLimits limits) => _s = NewState(limits);

    private static DateTimeOffset At(double seconds) => T0 + TimeSpan.FromSeconds(seconds);

    private static TimeSpan Sec(double seconds) => TimeSpan.FromSeconds(seconds);

    private bool Go(double seconds) => _s.Advance(At(seconds));

    /// <summary>Asserts the decision makes an event and the expected reply, applies the event and records it.</summary>
    private TReply Accept<TReply>(Decision decision) where TReply : IReply
    {
        Assert.True(decision.Event is not null, $"expected an event, got the reply {decision.Reply}");
        var reply = Assert.IsType<TReply>(decision.Reply);
        Assert.Equal(_s.Now, decision.Event!.At);
        _s.Apply(decision.Event);
        _events.Add(decision.Event);
        return reply;
    }

    /// <summary>Asserts the decision is a refusal of type <typeparamref name="TFailure"/> and that nothing changed.</summary>
    private TFailure Refused<TFailure>(Func<JobQueueState, Decision> decide) where TFailure : IFailure
    {
        var before = _s.ToSnapshot();
        var (count, nextSeq, nextDue) = (_s.Count, _s.NextSeq, _s.NextDueAt);
        var decision = decide(_s);
        Assert.Null(decision.Event);
        var failure = Assert.IsType<TFailure>(decision.Reply);
        Assert.False(string.IsNullOrWhiteSpace(failure.Message));
        Assert.Equal(count, _s.Count);
        Assert.Equal(nextSeq, _s.NextSeq);
        Assert.Equal(nextDue, _s.NextDueAt);
        Assert.True(before.SameAs(_s.ToSnapshot()), "a refusal changed the state");
        return failure;
    }

    private Rejected Rejects(RejectReason reason, Func<JobQueueState, Decision> decide)
    {
        var rejected = Refused<Rejected>(decide);
        Assert.Equal(reason, rejected.Reason);
        return rejected;
    }

    private static Push NewPush(
        string? id = null, uint? priority = null, double delay = 0, double? ttr = null, int? maxRetries = null,
        double? period = null, JobPayload? payload = null, string queue = Q) =>
        TestJobs.Push(id, priority, Sec(delay), ttr is { } t ? Sec(t) : null, maxRetries, period is { } p ? Sec(p) : null, payload ?? Work, queue);

    private string PushJob(
        string? id = null, uint? priority = null, double delay = 0, double? ttr = null, int? maxRetries = null,
        double? period = null) =>
        Accept<Pushed>(_s.Push(NewPush(id, priority, delay, ttr, maxRetries, period))).JobId;

    private Reserved Reserve(string holder = "w1")
    {
        Assert.True(_s.CanReserve, "expected a job to be reservable");
        return Accept<Reserved>(_s.Reserve(holder, ++_lastToken));
    }

    private JobView View(string id)
    {
        var view = _s.View(id);
        Assert.NotNull(view);
        return view;
    }

    private string[] ReadyIds => _s.ReadyJobs.Select(v => v.Job.Id).ToArray();

    private static JobPayload PayloadOfSize(int size)
    {
        // class "c" (1 byte) + ["xxx"] (4 bytes of punctuation + the x's)
        var payload = JobPayload.FromJson("c", "[\"" + new string('x', size - 5) + "\"]");
        Assert.Equal(size, payload.Size);
        return payload;
    }

    private static void AssertSame(JobQueueSnapshot expected, JobQueueSnapshot actual)
    {
        if (expected.SameAs(actual))
            return;
        // Show the first difference rather than "false".
        Assert.Equal(expected.Now, actual.Now);
        Assert.Equal(expected.NextSeq, actual.NextSeq);
        Assert.Equal(expected.BuryCounter, actual.BuryCounter);
        Assert.Equal(expected.PausedUntil, actual.PausedUntil);
        Assert.Equal(expected.Jobs.Count, actual.Jobs.Count);
        for (var i = 0; i < expected.Jobs.Count; i++)
            Assert.Equal(expected.Jobs[i], actual.Jobs[i]);
        Assert.Fail("snapshots differ");
    }

    // ================================================================ ready order

    [Fact]
    public void Reserve_returns_most_urgent_then_oldest()
    {
        PushJob("a", priority: 10);
        PushJob("b", priority: 5);
        PushJob("c", priority: 10);
        PushJob("d", priority: 5);
        PushJob("e");
        PushJob("f", priority: 0);

        var order = Enumerable.Range(0, 6).Select(_ => Reserve().Job.Id).ToArray();

        Assert.Equal(["f", "b", "d", "a", "c", "e"], order);
        Assert.False(_s.CanReserve);
        Assert.Equal(6, _s.ReservedCount);
    }

    [Fact]
    public void ReadyJobs_and_PeekReady_agree_with_reserve_order()
    {
        PushJob("low", priority: 3000);
        PushJob("x1", priority: 7);
        PushJob("mid");
        PushJob("x2", priority: 7);

        Assert.Equal(["x1", "x2", "mid", "low"], ReadyIds);
        Assert.Equal([2L, 4L, 3L, 1L], _s.ReadyJobs.Select(v => v.Seq));
        Assert.All(_s.ReadyJobs, v => Assert.Equal(JobState.Ready, v.State));
        Assert.Equal("x1", _s.PeekReady()!.Job.Id);

        Assert.Equal("x1", Reserve().Job.Id);
        Assert.Equal("x2", _s.PeekReady()!.Job.Id);
        Assert.Equal(["x2", "mid", "low"], ReadyIds);
    }

    [Fact]
    public void PeekReady_PeekDelayed_PeekBuried_are_null_on_an_empty_queue()
    {
        Assert.Null(_s.PeekReady());
        Assert.Null(_s.PeekDelayed());
        Assert.Null(_s.PeekBuried());
        Assert.Null(_s.NextDueAt);
        Assert.False(_s.CanReserve);
        Assert.Equal(0, _s.Count);
        Assert.Empty(_s.Holders);
    }

    [Fact]
    public void UrgentCount_counts_ready_jobs_with_priority_below_1024()
    {
        PushJob("p0", priority: 0);
        PushJob("p1023", priority: 1023);
        PushJob("p1024", priority: 1024);
        PushJob("p5000", priority: 5000);
        Assert.Equal(2, _s.UrgentCount);

        var r = Reserve(); // p0
        Assert.Equal("p0", r.Job.Id);
        Assert.Equal(1, _s.UrgentCount);

        Accept<Released>(_s.Release(new Release("p0", r.Token) { Priority = 2000 }));
        Assert.Equal(1, _s.UrgentCount);

        r = Reserve(); // p1023
        Assert.Equal("p1023", r.Job.Id);
        Assert.Equal(0, _s.UrgentCount);
        Accept<Released>(_s.Release(new Release("p1023", r.Token) { Priority = 1 }));
        Assert.Equal(1, _s.UrgentCount);

        r = Reserve(); // p1023 again (priority 1)
        Accept<JobQueue.Buried>(_s.Bury(new Bury(r.Job.Id, r.Token, "x") { Priority = 3 }));
        Assert.Equal(0, _s.UrgentCount);
        Accept<Kicked>(_s.Kick(new Kick(1)));
        Assert.Equal(1, _s.UrgentCount);
        Accept<Deleted>(_s.Delete(new Delete("p1023")));
        Assert.Equal(0, _s.UrgentCount);
        Assert.Equal(3, _s.ReadyCount);
    }

    // ================================================================ listing jobs by state

    private JobList List(JobState state, string? after = null, int limit = 50, bool reverse = false)
    {
        var decision = _s.ListJobs(new ListJobs(state) { After = after, Limit = limit, Reverse = reverse });
        Assert.Null(decision.Event);
        return Assert.IsType<JobList>(decision.Reply);
    }

    private static string[] Ids(JobList page) => page.Jobs.Select(j => j.Job.Id).ToArray();

    [Fact]
    public void Ready_jobs_are_listed_most_urgent_first_in_pages_that_follow_each_other()
    {
        foreach (var (id, pri) in new[] { ("a", 10u), ("b", 5u), ("c", 10u), ("d", 0u), ("e", 5u) })
            PushJob(id, priority: pri);

        var first = List(JobState.Ready, limit: 2);
        Assert.Equal(["d", "b"], Ids(first));
        Assert.Equal(5, first.Total);
        var second = List(JobState.Ready, first.Next, limit: 2);
        Assert.Equal(["e", "a"], Ids(second));
        var last = List(JobState.Ready, second.Next, limit: 2);
        Assert.Equal(["c"], Ids(last));
        Assert.Null(last.Next);
        Assert.Equal(["c", "a", "e", "b", "d"], Ids(List(JobState.Ready, reverse: true)));
        Assert.Equal(["a", "e"], Ids(List(JobState.Ready, "10.3", reverse: true, limit: 2)));
    }

    [Fact]
    public void A_page_starts_after_its_cursor_even_when_the_cursors_job_is_gone()
    {
        foreach (var id in new[] { "a", "b", "c", "d" })
            PushJob(id);
        var first = List(JobState.Ready, limit: 2);
        Assert.Equal(["a", "b"], Ids(first));
        Assert.Equal("a", Reserve().Job.Id); // a and b leave Ready
        Assert.Equal("b", Reserve().Job.Id);
        Assert.Equal(["c", "d"], Ids(List(JobState.Ready, first.Next)));
        Assert.Equal(["a", "b"], Ids(List(JobState.Reserved)));
    }

    [Fact]
    public void Delayed_reserved_and_buried_jobs_are_listed_in_their_own_orders()
    {
        PushJob("late", delay: 30);
        PushJob("soon", delay: 5);
        PushJob("x", ttr: 50);
        PushJob("y", ttr: 10);
        var x = Reserve();
        var y = Reserve();
        Assert.Equal(["soon", "late"], Ids(List(JobState.Delayed)));
        Assert.Equal(["y", "x"], Ids(List(JobState.Reserved)));
        Accept<Buried>(_s.Bury(new Bury("x", x.Token, "first")));
        Accept<Buried>(_s.Bury(new Bury("y", y.Token, "second")));
        Assert.Equal(["x", "y"], Ids(List(JobState.Buried)));
        Assert.Equal(["y", "x"], Ids(List(JobState.Buried, reverse: true))); // the newest buried first
        var page = List(JobState.Buried, limit: 1);
        Assert.Equal(["y"], Ids(List(JobState.Buried, page.Next)));
        Assert.Empty(List(JobState.Ready).Jobs);
    }

    [Theory]
    [InlineData(0, null)]
    [InlineData(1001, null)]
    [InlineData(10, "nonsense")]
    [InlineData(10, "5")]
    [InlineData(10, "-1.2")]
    [InlineData(10, "99999999999.1")] // over uint: not a priority
    public void A_bad_limit_or_cursor_is_refused(int limit, string? cursor)
    {
        PushJob("a");
        var rejected = Refused<Rejected>(s => s.ListJobs(new ListJobs(JobState.Ready) { Limit = limit, After = cursor }));
        Assert.Equal(limit is < 1 or > 1000 ? RejectReason.InvalidLimit : RejectReason.InvalidCursor, rejected.Reason);
    }

    // ================================================================ trace context

    [Theory]
    [InlineData("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", true)]
    [InlineData("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00", true)]
    [InlineData("not a traceparent", false)]
    [InlineData("00-00000000000000000000000000000000-b7ad6b7169203331-01", false)] // all-zero trace id
    [InlineData("", false)]
    public void A_push_keeps_a_valid_traceparent_with_its_job_and_ignores_one_that_does_not_parse(string traceparent, bool kept)
    {
        var pushed = Accept<Pushed>(_s.Push(NewPush("t") with { TraceParent = traceparent }));
        Assert.Equal(kept ? traceparent : null, View(pushed.JobId).Job.TraceParent);
        Assert.Equal(kept ? traceparent : null, Reserve().Job.TraceParent);
        Assert.Equal(kept ? traceparent : null, Assert.IsType<JobPushed>(_events[0]).Job.TraceParent);
    }

    // ================================================================ lag: the oldest ready job

    [Fact]
    public void The_oldest_ready_job_is_the_one_ready_longest_whatever_its_priority()
    {
        Assert.Null(_s.OldestReadySince);
        PushJob("low", priority: 5000);
        Go(2);
        PushJob("urgent", priority: 0);
        Assert.Equal(T0, _s.OldestReadySince); // "low" waits longest, though "urgent" goes first
        Assert.Equal("urgent", Reserve().Job.Id);
        Assert.Equal(T0, _s.OldestReadySince);
        Reserve();
        Assert.Null(_s.OldestReadySince);
    }

    [Fact]
    public void A_job_counts_as_ready_from_when_it_came_due_or_back_not_from_when_time_was_looked_at()
    {
        PushJob("delayed", delay: 3);
        PushJob("leased", ttr: 5);
        var lease = Reserve();
        Assert.Equal("leased", lease.Job.Id);
        Assert.Null(_s.OldestReadySince);

        Go(10); // "delayed" came due at 3, the lease ended at 5: both in their own time
        Assert.Equal(At(3), _s.OldestReadySince);
        Assert.Equal("delayed", Reserve().Job.Id);
        Assert.Equal(At(5), _s.OldestReadySince);

        var again = Reserve();
        Go(12);
        Accept<Released>(_s.Release(new Release(again.Job.Id, again.Token)));
        Assert.Equal(At(12), _s.OldestReadySince);
        Accept<Deleted>(_s.Delete(new Delete(again.Job.Id)));
        Assert.Null(_s.OldestReadySince);
    }

    [Fact]
    public void Kicked_jobs_are_ready_from_the_kick_and_buries_are_counted()
    {
        PushJob("a", maxRetries: 0, ttr: 1);
        var r = Reserve();
        Accept<Buried>(_s.Bury(new Bury(r.Job.Id, r.Token, "bad")));
        PushJob("b", maxRetries: 0, ttr: 1);
        Reserve();
        Go(2); // b's lease expires without retries left: buried too
        Assert.Equal(2, _s.TotalBuries);
        Assert.Equal(1, _s.LeaseTimeouts);
        Go(4);
        Accept<Kicked>(_s.Kick(new Kick(5)));
        Assert.Equal(At(4), _s.OldestReadySince);
    }

    [Fact]
    public void A_restored_state_counts_its_ready_jobs_from_their_push()
    {
        PushJob("first");
        Go(1);
        PushJob("second");
        Go(7);
        var restored = JobQueueState.FromSnapshot(_s.ToSnapshot(), QueueLimits.Default);
        Assert.Equal(T0, restored.OldestReadySince);
        Assert.Equal("first", Accept(restored, restored.Reserve("w", 1)).Job.Id);
        Assert.Equal(At(1), restored.OldestReadySince);
        Assert.Equal(0, restored.TotalBuries);

        static Reserved Accept(JobQueueState state, Decision d)
        {
            state.Apply(d.Event!);
            return Assert.IsType<Reserved>(d.Reply);
        }
    }

    // ================================================================ push

    [Fact]
    public void Generated_ids_are_the_push_sequence_number()
    {
        Assert.Equal(1, _s.NextSeq);
        Assert.Equal("1", PushJob());
        Assert.Equal("abc", PushJob("abc"));
        Assert.Equal("3", PushJob());
        Assert.Equal("4", PushJob(delay: 10));

        Assert.Equal(5, _s.NextSeq);
        Assert.Equal(4, _s.TotalJobs);
        Assert.Equal(4, _s.Count);
        Assert.Equal(1, View("1").Seq);
        Assert.Equal(2, View("abc").Seq);
        Assert.Equal(3, View("3").Seq);
        Assert.Equal(4, View("4").Seq);
    }

    [Fact]
    public void Push_fills_in_the_queue_defaults()
    {
        UseLimits(new QueueLimits { DefaultTimeToRun = Sec(42), DefaultMaxRetries = 7 });
        Go(3);
        var pushed = _s.Push(NewPush("job"));
        Assert.Equal(new Pushed("job", JobState.Ready) { Seq = 1 }, pushed.Reply);
        var evt = Assert.IsType<JobPushed>(pushed.Event);
        Assert.Null(evt.DueAt);
        Accept<Pushed>(pushed);

        var job = View("job").Job;
        Assert.Equal(new Job("job", Q, Work, Job.DefaultPriority, Sec(42), 7, null, At(3)), job);
        Assert.False(job.IsPeriodic);
        var v = View("job");
        Assert.Equal(JobState.Ready, v.State);
        Assert.Equal(1024u, v.Priority);
        Assert.Equal(0, v.Attempt);
        Assert.Null(v.LastError);
    }

    [Fact]
    public void Push_takes_its_options()
    {
        Accept<Pushed>(_s.Push(NewPush("job", priority: 3, ttr: 9, maxRetries: 4, period: 30)));
        var job = View("job").Job;
        Assert.Equal(3u, job.Priority);
        Assert.Equal(Sec(9), job.TimeToRun);
        Assert.Equal(4, job.MaxRetries);
        Assert.Equal(Sec(30), job.Period);
        Assert.True(job.IsPeriodic);
    }

    [Fact]
    public void Negative_MaxRetries_means_no_limit()
    {
        PushJob("job", maxRetries: -1);
        Assert.Null(View("job").Job.MaxRetries);
    }

    [Fact]
    public void Null_DefaultMaxRetries_means_no_limit()
    {
        UseLimits(new QueueLimits { DefaultMaxRetries = null });
        PushJob("job");
        Assert.Null(View("job").Job.MaxRetries);
    }

    [Fact]
    public void Duplicate_id_is_AlreadyExists_and_makes_no_second_copy()
    {
        PushJob("dup", priority: 1);
        var failure = Refused<AlreadyExists>(s => s.Push(NewPush("dup", priority: 2)));
        Assert.Equal("dup", failure.JobId);
        Assert.Equal(1, _s.Count);
        Assert.Equal(2, _s.NextSeq);
        Assert.Equal(1u, View("dup").Priority);
    }

    [Fact]
    public void Duplicate_id_is_refused_in_every_state_and_free_again_after_delete()
    {
        PushJob("r");
        var lease = Reserve();
        PushJob("d", delay: 60);
        PushJob("b");
        var b = Reserve();
        Accept<JobQueue.Buried>(_s.Bury(new Bury("b", b.Token, "why")));
        Assert.Equal(JobState.Reserved, View("r").State);

        foreach (var id in new[] { "r", "d", "b" })
            Refused<AlreadyExists>(s => s.Push(NewPush(id)));

        Accept<Deleted>(_s.Delete(new Delete("d")));
        Assert.Equal("d", PushJob("d"));
        Assert.Equal(4, View("d").Seq);
        Assert.Equal(lease.Token, _s.LeasesOf("w1").Single().Token);
    }

    public static TheoryData<string> BadIds => new()
    {
        "",
        new string('a', Names.MaxLength + 1),
        "-abc",
        "a b",
        "a\nb",
        "a*b",
        "a:b",
        "caf\u00e9",
        "tab\t",
        "123",
        "0",
    };

    [Theory]
    [MemberData(nameof(BadIds))]
    public void Ill_formed_job_ids_are_refused(string id)
    {
        PushJob("existing");
        Rejects(RejectReason.InvalidJobId, s => s.Push(NewPush(id)));
        Assert.Equal(1, _s.Count);
        Assert.Equal(2, _s.NextSeq);
    }

    [Fact]
    public void Well_formed_job_ids_are_accepted()
    {
        var longest = new string('z', Names.MaxLength);
        foreach (var id in new[] { longest, "a-b", "A+b/c;d.e$f_g(h)", "1a", "a1", "_", "0x", "9.5" })
            Assert.Equal(id, PushJob(id));
        Assert.Equal(8, _s.Count);
    }

    [Fact]
    public void Push_for_another_queue_is_WrongQueue()
    {
        Rejects(RejectReason.WrongQueue, s => s.Push(NewPush("a", queue: "other")));
        Assert.Equal(0, _s.Count);
    }

    [Theory]
    [InlineData("")]
    [InlineData("-jobs")]
    [InlineData("my jobs")]
    [InlineData("jobs!")]
    public void Push_with_an_invalid_queue_name_is_InvalidQueueName(string queue)
    {
        Rejects(RejectReason.InvalidQueueName, s => s.Push(NewPush("a", queue: queue)));
    }

    [Fact]
    public void Push_with_an_over_long_queue_name_is_InvalidQueueName()
    {
        Rejects(RejectReason.InvalidQueueName, s => s.Push(NewPush("a", queue: new string('q', Names.MaxLength + 1))));
    }

    [Fact]
    public void A_state_can_not_be_made_for_an_invalid_queue_name()
    {
        Assert.Throws<ArgumentException>(() => new JobQueueState("bad name"));
        Assert.Throws<ArgumentException>(() => new JobQueueState(""));
    }

    [Fact]
    public void Push_without_a_valid_class_is_InvalidClass()
    {
        Rejects(RejectReason.InvalidClass, s => s.Push(NewPush("a", payload: JobPayload.Create(""))));
        Rejects(RejectReason.InvalidClass, s => s.Push(NewPush("a", payload: JobPayload.Create("a\u0001b"))));
        Rejects(RejectReason.InvalidClass, s => s.Push(NewPush("a", payload: JobPayload.Create(new string('c', Names.MaxLength + 1)))));
        Rejects(RejectReason.InvalidClass, s => s.Push(new Push(Q, null!) { Id = "a" }));
        Assert.Equal(0, _s.Count);
        Assert.Equal(1, _s.NextSeq);
    }

    [Fact]
    public void Payload_over_the_limit_is_PayloadTooLarge()
    {
        UseLimits(new QueueLimits { MaxPayloadBytes = 64 });
        Rejects(RejectReason.PayloadTooLarge, s => s.Push(NewPush("big", payload: PayloadOfSize(65))));
        Rejects(RejectReason.PayloadTooLarge, s => s.Push(NewPush(payload: PayloadOfSize(1000))));
        Assert.Equal(0, _s.Count);

        Accept<Pushed>(_s.Push(NewPush("fits", payload: PayloadOfSize(64))));
        Assert.Equal(1, _s.Count);
    }

    [Fact]
    public void Negative_or_absurd_delay_is_InvalidDelay()
    {
        UseLimits(new QueueLimits { MaxDelay = TimeSpan.FromHours(1) });
        Rejects(RejectReason.InvalidDelay, s => s.Push(NewPush("a", delay: -1)));
        Rejects(RejectReason.InvalidDelay, s => s.Push(NewPush("a") with { Delay = TimeSpan.FromTicks(-1) }));
        Rejects(RejectReason.InvalidDelay, s => s.Push(NewPush("a") with { Delay = TimeSpan.FromHours(1) + TimeSpan.FromTicks(1) }));
        Rejects(RejectReason.InvalidDelay, s => s.Push(NewPush("a") with { Delay = TimeSpan.MaxValue }));
        Assert.Equal(0, _s.Count);

        Accept<Pushed>(_s.Push(NewPush("a") with { Delay = TimeSpan.FromHours(1) }));
        Assert.Equal(T0 + TimeSpan.FromHours(1), View("a").DueAt);
    }

    [Fact]
    public void Time_to_run_must_be_positive_and_at_most_the_limit()
    {
        UseLimits(new QueueLimits { MaxTimeToRun = Sec(100) });
        Rejects(RejectReason.InvalidTimeToRun, s => s.Push(NewPush("a", ttr: 0)));
        Rejects(RejectReason.InvalidTimeToRun, s => s.Push(NewPush("a", ttr: -5)));
        Rejects(RejectReason.InvalidTimeToRun, s => s.Push(NewPush("a", ttr: 100.001)));
        Assert.Equal(0, _s.Count);

        PushJob("max", ttr: 100);
        PushJob("tiny");
        Accept<Pushed>(_s.Push(NewPush("tick") with { TimeToRun = TimeSpan.FromTicks(1) }));
        Assert.Equal(Sec(100), View("max").Job.TimeToRun);
    }

    [Fact]
    public void A_default_time_to_run_over_the_limit_is_refused_too()
    {
        UseLimits(new QueueLimits { MaxTimeToRun = Sec(10), DefaultTimeToRun = Sec(20) });
        Rejects(RejectReason.InvalidTimeToRun, s => s.Push(NewPush("a")));
    }

    [Fact]
    public void Period_below_the_minimum_or_over_the_delay_limit_is_InvalidPeriod()
    {
        UseLimits(new QueueLimits { MinPeriod = Sec(10), MaxDelay = TimeSpan.FromHours(1) });
        Rejects(RejectReason.InvalidPeriod, s => s.Push(NewPush("a", period: 9.999)));
        Rejects(RejectReason.InvalidPeriod, s => s.Push(NewPush("a", period: 0)));
        Rejects(RejectReason.InvalidPeriod, s => s.Push(NewPush("a", period: -10)));
        Rejects(RejectReason.InvalidPeriod, s => s.Push(NewPush("a", period: 3601)));
        Assert.Equal(0, _s.Count);

        PushJob("min", period: 10);
        PushJob("max", period: 3600);
        Assert.Equal(2, _s.Count);
    }

    // ================================================================ delayed

    [Fact]
    public void Push_with_delay_waits_in_Delayed_until_its_due_time()
    {
        Go(2);
        var decision = _s.Push(NewPush("later", delay: 30));
        Assert.Equal(At(32), Assert.IsType<JobPushed>(decision.Event).DueAt);
        Assert.Equal(JobState.Delayed, Accept<Pushed>(decision).State);

        var v = View("later");
        Assert.Equal(JobState.Delayed, v.State);
        Assert.Equal(At(32), v.DueAt);
        Assert.Equal(1, _s.DelayedCount);
        Assert.Equal(0, _s.ReadyCount);
        Assert.False(_s.CanReserve);
        Assert.Equal(At(32), _s.NextDueAt);
        Assert.Equal("later", _s.PeekDelayed()!.Job.Id);

        Assert.False(_s.Advance(At(32) - TimeSpan.FromTicks(1)));
        Assert.Equal(JobState.Delayed, View("later").State);

        Assert.True(Go(32));
        v = View("later");
        Assert.Equal(JobState.Ready, v.State);
        Assert.Null(v.DueAt);
        Assert.Equal(0, _s.DelayedCount);
        Assert.True(_s.CanReserve);
        Assert.Null(_s.NextDueAt);
        Assert.Null(_s.PeekDelayed());
    }

    [Fact]
    public void Zero_delay_push_is_ready_at_once()
    {
        Assert.Equal(JobState.Ready, Accept<Pushed>(_s.Push(NewPush("now", delay: 0))).State);
        Assert.Equal(JobState.Ready, View("now").State);
    }

    [Fact]
    public void Delayed_jobs_are_ordered_by_due_time_and_become_ready_by_priority()
    {
        PushJob("c", delay: 30, priority: 1);
        PushJob("a", delay: 10, priority: 9);
        PushJob("b", delay: 20, priority: 5);
        PushJob("a2", delay: 10, priority: 2);

        Assert.Equal(["a", "a2", "b", "c"], _s.DelayedJobs.Select(v => v.Job.Id));
        Assert.Equal("a", _s.PeekDelayed()!.Job.Id);

        Go(15);
        Assert.Equal(["a2", "a"], ReadyIds);
        Assert.Equal(["b", "c"], _s.DelayedJobs.Select(v => v.Job.Id));

        Go(100); // one big step
        Assert.Equal(["c", "a2", "b", "a"], ReadyIds);
        Assert.Equal(0, _s.DelayedCount);
    }

    [Fact]
    public void NextDueAt_is_the_soonest_of_delayed_due_lease_deadline_and_pause_end()
    {
        Assert.Null(_s.NextDueAt);
        PushJob("d", delay: 30);
        Assert.Equal(At(30), _s.NextDueAt);

        PushJob("r", ttr: 10);
        Reserve();
        Assert.Equal(At(10), _s.NextDueAt);

        Accept<Paused>(_s.Pause(new Pause(Sec(5))));
        Assert.Equal(At(5), _s.NextDueAt);

        Go(5);
        Assert.Null(_s.PausedUntil);
        Assert.Equal(At(10), _s.NextDueAt);

        Accept<Paused>(_s.Pause(new Pause(Sec(100))));
        Assert.Equal(At(10), _s.NextDueAt);

        Go(10); // lease expired; r back to ready
        Assert.Equal(At(30), _s.NextDueAt);
        Go(30);
        Assert.Equal(At(105), _s.NextDueAt);
        Accept<Resumed>(_s.Resume());
        Assert.Null(_s.NextDueAt);
    }

    // ================================================================ leases

    [Fact]
    public void Reserve_gives_a_lease_with_token_and_deadline()
    {
        PushJob("job", ttr: 30);
        Go(5);
        var decision = _s.Reserve("akka://sys/user/w1", 777);
        var evt = Assert.IsType<JobReserved>(decision.Event);
        Assert.Equal(new JobReserved(At(5), "job", 777, At(35), "akka://sys/user/w1"), evt);
        var reply = Accept<Reserved>(decision);
        Assert.Equal(777, reply.Token);
        Assert.Equal(At(35), reply.Deadline);
        Assert.Equal(1, reply.Attempt);
        Assert.Equal(View("job").Job, reply.Job);

        var v = View("job");
        Assert.Equal(JobState.Reserved, v.State);
        Assert.Equal(At(35), v.LeaseDeadline);
        Assert.Equal("akka://sys/user/w1", v.Holder);
        Assert.Equal(1, v.Attempt);
        Assert.Equal(1, v.Reserves);
        Assert.Equal(1, _s.ReservedCount);
        Assert.Equal(0, _s.ReadyCount);
        Assert.Equal(At(35), _s.NextDueAt);
        Assert.Equal(["akka://sys/user/w1"], _s.Holders);
        Assert.True(_s.HoldsLeases("akka://sys/user/w1"));
        Assert.False(_s.HoldsLeases("akka://sys/user/w2"));
        Assert.Equal([("job", 777L)], _s.LeasesOf("akka://sys/user/w1"));
        Assert.Empty(_s.LeasesOf("akka://sys/user/w2"));
        Assert.Equal("job", Assert.Single(_s.ReservedJobs).Job.Id);
    }

    [Fact]
    public void Reserve_when_nothing_can_be_reserved_throws()
    {
        Assert.Throws<InvalidOperationException>(() => _s.Reserve("w", 1));
        PushJob("d", delay: 10);
        Assert.Throws<InvalidOperationException>(() => _s.Reserve("w", 1));
    }

    [Fact]
    public void Attempt_counts_up_with_each_reservation()
    {
        PushJob("job", ttr: 10, maxRetries: -1);
        var r1 = Reserve();
        Assert.Equal(1, r1.Attempt);
        Go(10);
        var r2 = Reserve();
        Assert.Equal(2, r2.Attempt);
        Accept<Released>(_s.Release(new Release("job", r2.Token)));
        var r3 = Reserve();
        Assert.Equal(3, r3.Attempt);
        Assert.NotEqual(r1.Token, r3.Token);
        var v = View("job");
        Assert.Equal(3, v.Attempt);
        Assert.Equal(3, v.Reserves);
        Assert.Equal(1, v.Timeouts);
        Assert.Equal(1, v.Releases);
    }

    private static IEnumerable<(string Name, Func<JobQueueState, Decision> Decide)> LeaseCommands(string id, long token) =>
    [
        ("complete", s => s.Complete(new Complete(id, token))),
        ("release", s => s.Release(new Release(id, token))),
        ("bury", s => s.Bury(new Bury(id, token, "reason"))),
        ("touch", s => s.Touch(new Touch(id, token))),
    ];

    [Fact]
    public void Lease_commands_with_a_wrong_token_are_StaleLease()
    {
        PushJob("job");
        var r = Reserve();
        foreach (var (_, decide) in LeaseCommands("job", r.Token + 1))
            Assert.Equal("job", Refused<StaleLease>(decide).JobId);
        foreach (var (_, decide) in LeaseCommands("job", 0))
            Refused<StaleLease>(decide);
        Assert.Equal(JobState.Reserved, View("job").State);
    }

    [Fact]
    public void An_expired_lease_token_is_stale_once_the_job_is_reserved_again()
    {
        PushJob("job", ttr: 10);
        var old = Reserve("w1");
        Go(10);
        var fresh = Reserve("w2");
        foreach (var (_, decide) in LeaseCommands("job", old.Token))
            Refused<StaleLease>(decide);
        Accept<Completed>(_s.Complete(new Complete("job", fresh.Token)));
        Assert.Equal(0, _s.Count);
    }

    [Fact]
    public void Lease_commands_on_a_job_that_is_not_reserved_are_NotReserved_with_its_state()
    {
        PushJob("ready");
        PushJob("delayed", delay: 60);
        PushJob("buried", priority: 0);
        var b = Reserve();
        Accept<JobQueue.Buried>(_s.Bury(new Bury("buried", b.Token, "x")));

        foreach (var (id, state) in new[] { ("ready", JobState.Ready), ("delayed", JobState.Delayed), ("buried", JobState.Buried) })
        {
            foreach (var (_, decide) in LeaseCommands(id, b.Token))
            {
                var failure = Refused<NotReserved>(decide);
                Assert.Equal(new NotReserved(id, state), failure);
            }
        }
    }

    [Fact]
    public void Commands_on_an_unknown_job_are_NotFound()
    {
        PushJob("job");
        var r = Reserve();
        foreach (var (_, decide) in LeaseCommands("nope", r.Token))
            Assert.Equal(new NotFound("nope"), Refused<NotFound>(decide));
        foreach (var (_, decide) in LeaseCommands(null!, r.Token))
            Assert.Equal(new NotFound(""), Refused<NotFound>(decide));
        Assert.Equal(new NotFound("nope"), Refused<NotFound>(s => s.KickJob(new KickJob("nope"))));
        Assert.Equal(new NotFound("nope"), Refused<NotFound>(s => s.Delete(new Delete("nope"))));
        Assert.Equal(new NotFound(""), Refused<NotFound>(s => s.Delete(new Delete(null!))));
        Assert.Null(_s.View("nope"));
        Assert.Null(_s.View(null!));
    }

    [Fact]
    public void Lease_expires_at_its_deadline_and_the_job_is_ready_again()
    {
        PushJob("job", ttr: 10);
        Go(1);
        var r = Reserve("w1");
        Assert.Equal(At(11), r.Deadline);

        Assert.False(_s.Advance(At(11) - TimeSpan.FromTicks(1)));
        Assert.Equal(JobState.Reserved, View("job").State);

        Assert.True(Go(11));
        var v = View("job");
        Assert.Equal(JobState.Ready, v.State);
        Assert.Null(v.LeaseDeadline);
        Assert.Equal(1, v.Timeouts);
        Assert.Equal(1, v.Attempt);
        Assert.Equal(0, v.Buries);
        Assert.Equal("lease expired after 10 s", v.LastError);
        Assert.Equal(0, _s.ReservedCount);
        Assert.Equal(1, _s.ReadyCount);
        Assert.Empty(_s.Holders);
        Assert.False(_s.HoldsLeases("w1"));
        Assert.Null(_s.NextDueAt);
        Assert.Equal(new NotReserved("job", JobState.Ready), Refused<NotReserved>(s => s.Complete(new Complete("job", r.Token))));
    }

    [Fact]
    public void Expired_job_keeps_its_place_in_the_ready_order()
    {
        PushJob("first", ttr: 5);
        PushJob("second");
        Reserve();
        Go(5);
        Assert.Equal(["first", "second"], ReadyIds);
    }

    [Fact]
    public void Touch_moves_the_deadline_and_expiry_follows_the_new_one()
    {
        PushJob("job", ttr: 10);
        var r = Reserve();
        Go(8);
        var decision = _s.Touch(new Touch("job", r.Token));
        Assert.Equal(new JobTouched(At(8), "job", At(18)), decision.Event);
        Assert.Equal(new Touched("job", At(18)), Accept<Touched>(decision));
        Assert.Equal(At(18), View("job").LeaseDeadline);
        Assert.Equal(At(18), _s.NextDueAt);

        Assert.False(Go(10)); // the old deadline
        Assert.Equal(JobState.Reserved, View("job").State);
        Assert.False(_s.Advance(At(18) - TimeSpan.FromTicks(1)));
        Assert.Equal(JobState.Reserved, View("job").State);

        Assert.True(Go(18));
        Assert.Equal(JobState.Ready, View("job").State);
        Assert.Equal(1, View("job").Timeouts);
    }

    [Fact]
    public void Touch_reorders_the_leases_by_deadline()
    {
        PushJob("a", ttr: 10);
        PushJob("b", ttr: 12);
        var a = Reserve();
        Reserve();
        Assert.Equal(["a", "b"], _s.ReservedJobs.Select(v => v.Job.Id));
        Go(9);
        Accept<Touched>(_s.Touch(new Touch("a", a.Token)));
        Assert.Equal(["b", "a"], _s.ReservedJobs.Select(v => v.Job.Id));
        Assert.Equal(At(12), _s.NextDueAt);
        Go(12);
        Assert.Equal(["a"], _s.ReservedJobs.Select(v => v.Job.Id));
        Assert.Equal(At(19), _s.NextDueAt);
        Go(20);
        Assert.Equal(["a", "b"], ReadyIds);
    }

    [Fact]
    public void Leases_of_several_holders_are_kept_apart()
    {
        PushJob("a");
        PushJob("b");
        PushJob("c");
        var a = Reserve("w1");
        var b = Reserve("w2");
        var c = Reserve("w1");
        Assert.Equal(["w1", "w2"], _s.Holders.Order());
        Assert.Equal([("a", a.Token), ("c", c.Token)], _s.LeasesOf("w1").OrderBy(l => l.JobId));
        Assert.Equal([("b", b.Token)], _s.LeasesOf("w2"));

        Accept<Completed>(_s.Complete(new Complete("a", a.Token)));
        Assert.Equal([("c", c.Token)], _s.LeasesOf("w1"));
        Accept<Released>(_s.Release(new Release("c", c.Token)));
        Assert.False(_s.HoldsLeases("w1"));
        Assert.Equal(["w2"], _s.Holders);
    }

    [Fact]
    public void Complete_deletes_a_job()
    {
        PushJob("job");
        var r = Reserve();
        var decision = _s.Complete(new Complete("job", r.Token));
        Assert.Equal(new JobCompleted(_s.Now, "job"), decision.Event);
        Assert.Equal(new Completed("job", null), Accept<Completed>(decision));
        Assert.Equal(0, _s.Count);
        Assert.Equal(0, _s.ReservedCount);
        Assert.Null(_s.View("job"));
        Assert.Empty(_s.Holders);
        Assert.Equal(new NotFound("job"), Refused<NotFound>(s => s.Complete(new Complete("job", r.Token))));
    }

    // ================================================================ retries

    [Fact]
    public void Third_expired_lease_buries_a_job_with_two_retries()
    {
        PushJob("job", ttr: 10, maxRetries: 2);
        Reserve();
        Go(10);
        Assert.Equal(JobState.Ready, View("job").State);
        Reserve();
        Go(20);
        Assert.Equal(JobState.Ready, View("job").State);
        Assert.Equal(3, Reserve().Attempt);
        Go(30);

        var v = View("job");
        Assert.Equal(JobState.Buried, v.State);
        Assert.Equal(3, v.Timeouts);
        Assert.Equal(3, v.Attempt);
        Assert.Equal(1, v.Buries);
        Assert.NotNull(v.LastError);
        Assert.Contains("attempt 3 of 3", v.LastError);
        Assert.Contains("expired", v.LastError);
        Assert.Equal(1, _s.BuriedCount);
        Assert.Equal(0, _s.ReadyCount);
        Assert.Equal("job", _s.PeekBuried()!.Job.Id);
        Assert.False(_s.CanReserve);
    }

    [Fact]
    public void Zero_retries_buries_on_the_first_expiry()
    {
        PushJob("job", ttr: 10, maxRetries: 0);
        Reserve();
        Go(10);
        Assert.Equal(JobState.Buried, View("job").State);
        Assert.Contains("attempt 1 of 1", View("job").LastError);
    }

    [Fact]
    public void Unlimited_retries_never_bury()
    {
        PushJob("job", ttr: 10, maxRetries: -1);
        for (var i = 1; i <= 25; i++)
        {
            Assert.Equal(i, Reserve().Attempt);
            Go(10 * i);
            Assert.Equal(JobState.Ready, View("job").State);
        }
        Assert.Equal(25, View("job").Timeouts);
        Assert.Equal(0, View("job").Buries);
        Assert.Equal(0, _s.BuriedCount);
    }

    [Fact]
    public void Expiry_buries_in_deadline_order_within_one_advance()
    {
        PushJob("late", ttr: 20, maxRetries: 0);
        PushJob("early", ttr: 10, maxRetries: 0);
        Reserve();
        Reserve();
        Go(100);
        Assert.Equal(["early", "late"], _s.BuriedJobs.Select(v => v.Job.Id));
    }

    [Fact]
    public void LeaseLost_counts_the_attempt_but_not_a_timeout()
    {
        PushJob("job", ttr: 10, maxRetries: 1);
        var r = Reserve("w1");
        Go(2);
        var lost = _s.LoseLease("job", r.Token, "worker died");
        Assert.Equal(new LeaseLost(At(2), "job", r.Token, "worker died"), lost);
        _s.Apply(lost!);
        _events.Add(lost!);

        var v = View("job");
        Assert.Equal(JobState.Ready, v.State);
        Assert.Equal(0, v.Timeouts);
        Assert.Equal(1, v.Attempt);
        Assert.Empty(_s.Holders);
        Assert.Null(_s.NextDueAt);

        r = Reserve("w2");
        Assert.Equal(2, r.Attempt);
        Go(3);
        lost = _s.LoseLease("job", r.Token, "node down");
        Assert.NotNull(lost);
        _s.Apply(lost);

        v = View("job");
        Assert.Equal(JobState.Buried, v.State);
        Assert.Equal(0, v.Timeouts);
        Assert.Equal(1, v.Buries);
        Assert.Contains("node down", v.LastError);
        Assert.Contains("attempt 2 of 2", v.LastError);
    }

    [Fact]
    public void LoseLease_of_a_lease_that_is_over_is_null()
    {
        PushJob("job", ttr: 10);
        PushJob("ready");
        var r = Reserve();
        Assert.Null(_s.LoseLease("job", r.Token + 1, "stale"));
        Assert.Null(_s.LoseLease("nope", r.Token, "unknown"));
        Assert.Null(_s.LoseLease("ready", r.Token, "not reserved"));
        Go(10);
        Assert.Null(_s.LoseLease("job", r.Token, "expired already"));
        var again = Reserve();
        Assert.Null(_s.LoseLease("job", r.Token, "old lease"));
        Assert.NotNull(_s.LoseLease("job", again.Token, "current lease"));
        Assert.Equal(JobState.Reserved, View("job").State); // deciding changes nothing
    }

    // ================================================================ release

    [Fact]
    public void Release_puts_the_job_back_in_Ready_and_keeps_the_error()
    {
        PushJob("job");
        PushJob("other");
        var r = Reserve();
        Go(4);
        var decision = _s.Release(new Release("job", r.Token) { Error = "it broke" });
        Assert.Equal(new JobReleased(At(4), "job", null, null, "it broke"), decision.Event);
        Assert.Equal(new Released("job", JobState.Ready), Accept<Released>(decision));

        var v = View("job");
        Assert.Equal(JobState.Ready, v.State);
        Assert.Equal("it broke", v.LastError);
        Assert.Equal(1, v.Releases);
        Assert.Equal(1, v.Attempt);
        Assert.Equal(0, v.Timeouts);
        Assert.Equal(["job", "other"], ReadyIds);
        Assert.Empty(_s.Holders);

        r = Reserve();
        Accept<Released>(_s.Release(new Release("job", r.Token)));
        Assert.Equal("it broke", View("job").LastError); // no new error: the last one stays
        Assert.Equal(2, View("job").Releases);
    }

    [Fact]
    public void Release_with_delay_puts_the_job_in_Delayed()
    {
        PushJob("job");
        var r = Reserve();
        Go(5);
        var decision = _s.Release(new Release("job", r.Token) { Delay = Sec(20) });
        Assert.Equal(At(25), Assert.IsType<JobReleased>(decision.Event).DueAt);
        Assert.Equal(JobState.Delayed, Accept<Released>(decision).State);

        var v = View("job");
        Assert.Equal(JobState.Delayed, v.State);
        Assert.Equal(At(25), v.DueAt);
        Assert.Equal(At(25), _s.NextDueAt);
        Go(24.999);
        Assert.Equal(JobState.Delayed, View("job").State);
        Go(25);
        Assert.Equal(JobState.Ready, View("job").State);
        Assert.Equal(2, Reserve().Attempt);
    }

    [Fact]
    public void Release_can_change_the_priority()
    {
        PushJob("a", priority: 10);
        PushJob("b", priority: 20);
        var r = Reserve();
        Assert.Equal("a", r.Job.Id);
        Accept<Released>(_s.Release(new Release("a", r.Token) { Priority = 30 }));
        Assert.Equal(30u, View("a").Priority);
        Assert.Equal(10u, View("a").Job.Priority); // the job as pushed stays as it was
        Assert.Equal(["b", "a"], ReadyIds);
    }

    [Fact]
    public void Release_with_a_bad_delay_or_over_long_error_is_refused()
    {
        UseLimits(new QueueLimits { MaxDelay = TimeSpan.FromHours(1), MaxTextLength = 10 });
        PushJob("job");
        var r = Reserve();
        Rejects(RejectReason.InvalidDelay, s => s.Release(new Release("job", r.Token) { Delay = Sec(-1) }));
        Rejects(RejectReason.InvalidDelay, s => s.Release(new Release("job", r.Token) { Delay = TimeSpan.FromHours(2) }));
        Rejects(RejectReason.InvalidText, s => s.Release(new Release("job", r.Token) { Error = new string('e', 11) }));
        Assert.Equal(JobState.Reserved, View("job").State);
        Accept<Released>(_s.Release(new Release("job", r.Token) { Error = new string('e', 10) }));
    }

    // ================================================================ bury

    [Fact]
    public void Bury_keeps_the_reason_and_may_change_the_priority()
    {
        PushJob("job", priority: 5);
        var r = Reserve();
        Go(3);
        var decision = _s.Bury(new Bury("job", r.Token, "poison") { Priority = 99 });
        Assert.Equal(new JobBuried(At(3), "job", "poison", 99), decision.Event);
        Assert.Equal(new JobQueue.Buried("job"), Accept<JobQueue.Buried>(decision));

        var v = View("job");
        Assert.Equal(JobState.Buried, v.State);
        Assert.Equal("poison", v.LastError);
        Assert.Equal(99u, v.Priority);
        Assert.Equal(1, v.Buries);
        Assert.Equal(1, _s.BuriedCount);
        Assert.Equal(0, _s.ReservedCount);
        Assert.Empty(_s.Holders);
        Assert.Null(_s.NextDueAt);
    }

    [Fact]
    public void Bury_without_priority_keeps_it_and_over_long_reason_is_refused()
    {
        UseLimits(new QueueLimits { MaxTextLength = 5 });
        PushJob("job", priority: 5);
        var r = Reserve();
        Rejects(RejectReason.InvalidText, s => s.Bury(new Bury("job", r.Token, "123456")));
        Accept<JobQueue.Buried>(_s.Bury(new Bury("job", r.Token, "12345")));
        Assert.Equal(5u, View("job").Priority);
    }

    [Fact]
    public void Buried_jobs_are_kept_in_bury_order()
    {
        PushJob("a", priority: 1);
        PushJob("b", priority: 2);
        PushJob("c", priority: 3);
        var a = Reserve();
        var b = Reserve();
        var c = Reserve();
        Accept<JobQueue.Buried>(_s.Bury(new Bury("c", c.Token, "1")));
        Accept<JobQueue.Buried>(_s.Bury(new Bury("a", a.Token, "2")));
        Accept<JobQueue.Buried>(_s.Bury(new Bury("b", b.Token, "3")));
        Assert.Equal(["c", "a", "b"], _s.BuriedJobs.Select(v => v.Job.Id));
        Assert.Equal("c", _s.PeekBuried()!.Job.Id);
    }

    // ================================================================ kick

    private void BuryJob(string id, string reason = "buried")
    {
        var r = Reserve();
        Assert.Equal(id, r.Job.Id);
        Accept<JobQueue.Buried>(_s.Bury(new Bury(id, r.Token, reason)));
    }

    [Fact]
    public void Kick_takes_buried_jobs_first_in_bury_order()
    {
        PushJob("d1", delay: 10);
        PushJob("b1", priority: 2);
        PushJob("b2", priority: 1);
        PushJob("b3", priority: 3);
        BuryJob("b2");
        BuryJob("b1");
        BuryJob("b3");

        var decision = _s.Kick(new Kick(2));
        Assert.Equal(new[] { "b2", "b1" }, Assert.IsType<JobsKicked>(decision.Event).JobIds);
        Assert.Equal(new Kicked(2), Accept<Kicked>(decision));
        Assert.Equal(["b2", "b1"], ReadyIds);
        Assert.Equal(["b3"], _s.BuriedJobs.Select(v => v.Job.Id));
        Assert.Equal(JobState.Delayed, View("d1").State);
        Assert.Equal(1, View("b2").Kicks);

        // Still one buried: the delayed job stays put even though the bound allows more.
        Assert.Equal(new Kicked(1), Accept<Kicked>(_s.Kick(new Kick(10))));
        Assert.Equal(JobState.Delayed, View("d1").State);
        Assert.Equal(0, _s.BuriedCount);
    }

    [Fact]
    public void Kick_takes_delayed_jobs_soonest_first_when_none_are_buried()
    {
        PushJob("d30", delay: 30);
        PushJob("d10", delay: 10);
        PushJob("d20", delay: 20);
        var decision = _s.Kick(new Kick(2));
        Assert.Equal(new[] { "d10", "d20" }, Assert.IsType<JobsKicked>(decision.Event).JobIds);
        Accept<Kicked>(decision);
        Assert.Equal(["d10", "d20"], ReadyIds);
        Assert.Equal(["d30"], _s.DelayedJobs.Select(v => v.Job.Id));
        Assert.Null(View("d10").DueAt);
        Assert.Equal(At(30), _s.NextDueAt);
    }

    [Fact]
    public void Kick_zero_or_with_nothing_to_kick_makes_no_event()
    {
        PushJob("ready");
        var nothing = _s.Kick(new Kick(5));
        Assert.Null(nothing.Event);
        Assert.Equal(new Kicked(0), nothing.Reply);

        PushJob("b");
        PushJob("d", delay: 5);
        Reserve(); // "ready"
        BuryJob("b");
        var zero = _s.Kick(new Kick(0));
        Assert.Null(zero.Event);
        Assert.Equal(new Kicked(0), zero.Reply);
        Assert.Equal(1, _s.BuriedCount);
        Assert.Equal(1, _s.DelayedCount);
    }

    [Fact]
    public void Kick_with_a_negative_bound_is_refused()
    {
        PushJob("b");
        BuryJob("b");
        Rejects(RejectReason.InvalidBound, s => s.Kick(new Kick(-1)));
        Assert.Equal(1, _s.BuriedCount);
    }

    [Fact]
    public void KickJob_moves_one_buried_or_delayed_job_to_Ready()
    {
        PushJob("d", delay: 10);
        PushJob("d2", delay: 5);
        PushJob("b", priority: 0);
        PushJob("b2", priority: 1);
        BuryJob("b");
        BuryJob("b2");

        var decision = _s.KickJob(new KickJob("b2"));
        Assert.Equal(new[] { "b2" }, Assert.IsType<JobsKicked>(decision.Event).JobIds);
        Assert.Equal(new KickedJob("b2"), Accept<KickedJob>(decision));
        Assert.Equal(JobState.Ready, View("b2").State);
        Assert.Equal(JobState.Buried, View("b").State);

        Accept<KickedJob>(_s.KickJob(new KickJob("d")));
        Assert.Equal(JobState.Ready, View("d").State);
        Assert.Equal(JobState.Delayed, View("d2").State);
        Assert.Equal(1, View("d").Kicks);
        Assert.Equal(At(5), _s.NextDueAt);
    }

    [Fact]
    public void KickJob_of_a_ready_or_reserved_job_is_NotKickable()
    {
        PushJob("r");
        PushJob("ready");
        Reserve();
        Assert.Equal(new NotKickable("r", JobState.Reserved), Refused<NotKickable>(s => s.KickJob(new KickJob("r"))));
        Assert.Equal(new NotKickable("ready", JobState.Ready), Refused<NotKickable>(s => s.KickJob(new KickJob("ready"))));
        Assert.Equal(new NotFound("x"), Refused<NotFound>(s => s.KickJob(new KickJob("x"))));
        Assert.Equal(new NotFound(""), Refused<NotFound>(s => s.KickJob(new KickJob(null!))));
    }

    [Fact]
    public void Kicking_a_buried_job_resets_its_attempts_and_gives_its_retries_again()
    {
        PushJob("job", ttr: 10, maxRetries: 1);
        Reserve();
        Go(10);
        Reserve();
        Go(20);
        Assert.Equal(JobState.Buried, View("job").State);
        Assert.Equal(2, View("job").Attempt);

        Accept<Kicked>(_s.Kick(new Kick(1)));
        var v = View("job");
        Assert.Equal(JobState.Ready, v.State);
        Assert.Equal(0, v.Attempt);
        Assert.Equal(1, v.Kicks);
        Assert.Equal(2, v.Timeouts);

        Assert.Equal(1, Reserve().Attempt);
        Go(30);
        Assert.Equal(JobState.Ready, View("job").State); // one retry left
        Reserve();
        Go(40);
        v = View("job");
        Assert.Equal(JobState.Buried, v.State);
        Assert.Equal(2, v.Buries);

        Accept<KickedJob>(_s.KickJob(new KickJob("job")));
        Assert.Equal(0, View("job").Attempt);
        Assert.Equal(2, View("job").Kicks);
    }

    [Fact]
    public void Kicking_a_delayed_job_keeps_its_attempts()
    {
        PushJob("job");
        var r = Reserve();
        Accept<Released>(_s.Release(new Release("job", r.Token) { Delay = Sec(60) }));
        Accept<KickedJob>(_s.KickJob(new KickJob("job")));
        Assert.Equal(1, View("job").Attempt);
        Assert.Equal(2, Reserve().Attempt);
    }

    // ================================================================ delete

    public static TheoryData<JobState> AllStates => new() { JobState.Ready, JobState.Delayed, JobState.Reserved, JobState.Buried };

    [Theory]
    [MemberData(nameof(AllStates))]
    public void Delete_removes_a_job_in_any_state(JobState state)
    {
        PushJob("keep", priority: 5000, delay: 1000);
        PushJob("job", priority: 0, delay: state == JobState.Delayed ? 50 : 0, ttr: 30);
        if (state is JobState.Reserved or JobState.Buried)
        {
            var r = Reserve("w1");
            if (state == JobState.Buried)
                Accept<JobQueue.Buried>(_s.Bury(new Bury("job", r.Token, "x")));
        }
        Assert.Equal(state, View("job").State);
        Assert.Equal(2, _s.Count);

        Go(1);
        var decision = _s.Delete(new Delete("job"));
        Assert.Equal(new JobDeleted(At(1), "job"), decision.Event);
        Assert.Equal(new Deleted("job"), Accept<Deleted>(decision));

        Assert.Null(_s.View("job"));
        Assert.Equal(1, _s.Count);
        Assert.Equal(0, _s.ReadyCount + _s.ReservedCount + _s.BuriedCount);
        Assert.Equal(1, _s.DelayedCount);
        Assert.Equal(0, _s.UrgentCount);
        Assert.Empty(_s.Holders);
        Assert.Equal(At(1000), _s.NextDueAt);
        Assert.Equal(new NotFound("job"), Refused<NotFound>(s => s.Delete(new Delete("job"))));
        Assert.Equal(3, _s.NextSeq); // a deleted job's sequence number is not reused
    }

    [Theory]
    [MemberData(nameof(AllStates))]
    public void Delete_sparing_leases_refuses_only_a_reserved_job(JobState state)
    {
        PushJob("job", delay: state == JobState.Delayed ? 50 : 0);
        if (state is JobState.Reserved or JobState.Buried)
        {
            var r = Reserve("w1");
            if (state == JobState.Buried)
                Accept<JobQueue.Buried>(_s.Bury(new Bury("job", r.Token, "x")));
        }
        var delete = new Delete("job") { SpareLeased = true };
        if (state == JobState.Reserved)
        {
            Assert.Equal(new Leased("job"), Refused<Leased>(s => s.Delete(delete)));
            Assert.Equal(JobState.Reserved, View("job").State);
        }
        else
            Accept<Deleted>(_s.Delete(delete));
        Assert.Equal(new NotFound("nope"), Refused<NotFound>(s => s.Delete(new Delete("nope") { SpareLeased = true })));
    }

    // ================================================================ reserve-job

    [Theory]
    [MemberData(nameof(AllStates))]
    public void Reserve_job_leases_a_job_in_any_state_but_reserved(JobState state)
    {
        PushJob("first", priority: 0);
        PushJob("job", priority: 9, delay: state == JobState.Delayed ? 50 : 0, ttr: 30);
        if (state is JobState.Reserved or JobState.Buried)
        {
            Accept<Reserved>(_s.ReserveJob(new ReserveJob("job"), "w1", ++_lastToken));
            if (state == JobState.Buried)
                Accept<JobQueue.Buried>(_s.Bury(new Bury("job", _lastToken, "x")));
        }
        Assert.Equal(state, View("job").State);
        Go(1);
        var decision = _s.ReserveJob(new ReserveJob("job"), "w2", 77);
        if (state == JobState.Reserved)
        {
            Assert.Null(decision.Event);
            Assert.Equal(new Leased("job"), decision.Reply);
            Assert.Equal(JobState.Reserved, View("job").State);
            return;
        }
        Assert.Equal(new JobReserved(At(1), "job", 77, At(31), "w2"), decision.Event);
        var reserved = Accept<Reserved>(decision);
        Assert.Equal(("job", 77L, At(31)), (reserved.Job.Id, reserved.Token, reserved.Deadline));
        var view = View("job");
        Assert.Equal(JobState.Reserved, view.State);
        Assert.Equal(state == JobState.Buried ? 2 : 1, view.Reserves);
        Assert.True(_s.IsLeasedTo("job", "w2"));
        // the other job is untouched and still first in line
        Assert.Equal("first", _s.PeekReady()!.Job.Id);
        Assert.Equal(0, _s.DelayedCount + _s.BuriedCount);
    }

    [Fact]
    public void Reserve_job_ignores_a_pause_and_refuses_an_unknown_id()
    {
        PushJob("job");
        Accept<Paused>(_s.Pause(new Pause(Sec(60))));
        Assert.False(_s.CanReserve);
        Accept<Reserved>(_s.ReserveJob(new ReserveJob("job"), "w1", 5));
        Assert.Equal(new NotFound("nope"), Refused<NotFound>(s => s.ReserveJob(new ReserveJob("nope"), "w1", 6)));
    }

    [Fact]
    public void A_deleted_reserved_job_does_not_expire_later()
    {
        PushJob("job", ttr: 10);
        var r = Reserve();
        Accept<Deleted>(_s.Delete(new Delete("job")));
        Assert.False(Go(100));
        Assert.Equal(0, _s.Count);
        Assert.Null(_s.LoseLease("job", r.Token, "gone"));
    }

    // ================================================================ periodic jobs

    [Fact]
    public void Periodic_job_completed_within_its_period_runs_again_one_period_after_its_previous_due_time()
    {
        PushJob("tick", period: 60, ttr: 30);
        Go(5);
        var r = Reserve();
        Go(20);
        var decision = _s.Complete(new Complete("tick", r.Token));
        Assert.Equal(new Completed("tick", At(60)), Accept<Completed>(decision));

        var v = View("tick");
        Assert.Equal(JobState.Delayed, v.State);
        Assert.Equal(At(60), v.DueAt);
        Assert.Equal(1, _s.Count);
        Assert.Equal(At(60), _s.NextDueAt);

        Go(60);
        Assert.Equal(JobState.Ready, View("tick").State);

        // Reserved late and completed late, but within a period: still on the grid.
        Go(75);
        r = Reserve();
        Go(100);
        Assert.Equal(At(120), Accept<Completed>(_s.Complete(new Complete("tick", r.Token))).NextRunAt);
        Assert.Equal(At(120), View("tick").DueAt);
    }

    [Fact]
    public void Periodic_job_reserved_late_stays_on_its_grid()
    {
        PushJob("tick", period: 60, ttr: 600);
        Go(100); // due at 0, reserved 100 s late: the run due at 60 was missed
        var r = Reserve();
        Go(110);
        // the next run is on the grid (0, 60, 120, ...) after now: 120, not 110 + 60 or 100 + 60
        Assert.Equal(At(120), Accept<Completed>(_s.Complete(new Complete("tick", r.Token))).NextRunAt);
        Go(120);
        r = Reserve();
        Go(179.5);
        Assert.Equal(At(180), Accept<Completed>(_s.Complete(new Complete("tick", r.Token))).NextRunAt);
    }

    [Fact]
    public void Periodic_job_completed_more_than_a_period_late_skips_the_missed_runs()
    {
        PushJob("tick", period: 60, ttr: 3600);
        var r = Reserve();
        Go(250);
        var completed = Accept<Completed>(_s.Complete(new Complete("tick", r.Token)));
        Assert.Equal(At(300), completed.NextRunAt);
        Assert.Equal(At(300), View("tick").DueAt);

        // Exactly on a grid point: the next run is strictly after now.
        Go(300);
        r = Reserve();
        Go(420);
        Assert.Equal(At(480), Accept<Completed>(_s.Complete(new Complete("tick", r.Token))).NextRunAt);
        Assert.True(View("tick").DueAt > _s.Now);
    }

    [Fact]
    public void Periodic_job_pushed_with_delay_runs_on_the_grid_of_its_first_due_time()
    {
        PushJob("tick", period: 30, delay: 7);
        Go(7);
        var r = Reserve();
        Go(9);
        Assert.Equal(At(37), Accept<Completed>(_s.Complete(new Complete("tick", r.Token))).NextRunAt);
    }

    [Fact]
    public void Periodic_job_next_run_starts_with_fresh_attempts()
    {
        PushJob("tick", period: 60, ttr: 10, maxRetries: 3);
        Reserve();
        Go(10); // expired
        var r = Reserve();
        Assert.Equal(2, r.Attempt);
        Go(15);
        Accept<Completed>(_s.Complete(new Complete("tick", r.Token)));
        Assert.Equal(0, View("tick").Attempt);
        Go(60);
        Assert.Equal(1, Reserve().Attempt);
        Assert.Equal(3, View("tick").Reserves);
    }

    [Fact]
    public void Periodic_job_with_retries_used_up_by_expiry_waits_for_its_next_run()
    {
        PushJob("tick", period: 60, ttr: 10, maxRetries: 1);
        Reserve();
        Go(10);
        Assert.Equal(JobState.Ready, View("tick").State);
        Go(12);
        Reserve();
        Go(22);

        var v = View("tick");
        Assert.Equal(JobState.Delayed, v.State);
        Assert.Equal(At(60), v.DueAt);
        Assert.Equal(0, v.Attempt);
        Assert.Equal(2, v.Timeouts);
        Assert.Equal(0, v.Buries);
        Assert.Contains("attempt 2 of 2", v.LastError);
        Assert.Equal(0, _s.BuriedCount);
        Assert.Equal(At(60), _s.NextDueAt);

        Go(60);
        Assert.Equal(1, Reserve().Attempt);
    }

    [Fact]
    public void Periodic_job_that_loses_its_last_lease_waits_for_its_next_run()
    {
        PushJob("tick", period: 60, ttr: 10, maxRetries: 0);
        var r = Reserve();
        Go(5);
        _s.Apply(_s.LoseLease("tick", r.Token, "worker died")!);
        var v = View("tick");
        Assert.Equal(JobState.Delayed, v.State);
        Assert.Equal(At(60), v.DueAt);
        Assert.Contains("worker died", v.LastError);
        Assert.Equal(0, v.Timeouts);
    }

    [Fact]
    public void Periodic_job_rescheduled_by_expiry_is_the_same_however_time_is_advanced()
    {
        // The lease expires at 10 s; its next run is due at 60 s. Whether time moves in small steps
        // (as the actor's timer does) or jumps straight to 130 s (as a replay does), the job must end up
        // in the same place.
        JobQueueState Run(params double[] steps)
        {
            var s = NewState();
            var pushed = s.Push(NewPush("tick", period: 60, ttr: 10, maxRetries: 0));
            s.Apply(pushed.Event!);
            s.Apply(s.Reserve("w", 1).Event!);
            foreach (var step in steps)
                s.Advance(At(step));
            return s;
        }

        var small = Run(10, 60, 130);
        var jump = Run(130);
        Assert.Equal(JobState.Ready, small.View("tick")!.State);
        AssertSame(small.ToSnapshot(), jump.ToSnapshot());

        var justAfter = Run(10.5, 59);
        var later = Run(59);
        Assert.Equal(At(60), justAfter.View("tick")!.DueAt);
        AssertSame(justAfter.ToSnapshot(), later.ToSnapshot());
    }

    [Fact]
    public void Periodic_job_released_or_buried_keeps_its_schedule()
    {
        PushJob("tick", period: 60);
        var r = Reserve();
        Accept<Released>(_s.Release(new Release("tick", r.Token) { Delay = Sec(5) }));
        Go(5);
        r = Reserve();
        Go(6);
        Accept<JobQueue.Buried>(_s.Bury(new Bury("tick", r.Token, "stop")));
        Assert.Equal(JobState.Buried, View("tick").State);
        Accept<KickedJob>(_s.KickJob(new KickJob("tick")));
        r = Reserve();
        Go(7);
        Assert.Equal(At(60), Accept<Completed>(_s.Complete(new Complete("tick", r.Token))).NextRunAt);
    }

    [Fact]
    public void Deleting_a_periodic_job_ends_it()
    {
        PushJob("tick", period: 60);
        var r = Reserve();
        Accept<Completed>(_s.Complete(new Complete("tick", r.Token)));
        Accept<Deleted>(_s.Delete(new Delete("tick")));
        Assert.False(Go(1000));
        Assert.Equal(0, _s.Count);
    }

    // ================================================================ pause and resume

    [Fact]
    public void Paused_queue_hands_out_nothing_until_the_pause_ends()
    {
        PushJob("job");
        Go(1);
        var decision = _s.Pause(new Pause(Sec(30)));
        Assert.Equal(new QueuePaused(At(1), At(31)), decision.Event);
        Assert.Equal(new Paused(At(31)), Accept<Paused>(decision));
        Assert.Equal(At(31), _s.PausedUntil);
        Assert.False(_s.CanReserve);
        Assert.Throws<InvalidOperationException>(() => _s.Reserve("w", 1));
        Assert.Equal(At(31), _s.NextDueAt);

        Assert.False(_s.Advance(At(31) - TimeSpan.FromTicks(1)));
        Assert.False(_s.CanReserve);

        Assert.True(Go(31));
        Assert.Null(_s.PausedUntil);
        Assert.True(_s.CanReserve);
        Assert.Equal("job", Reserve().Job.Id);
    }

    [Fact]
    public void Pushes_and_leases_go_on_while_paused()
    {
        PushJob("a", ttr: 5);
        var r = Reserve();
        Accept<Paused>(_s.Pause(new Pause(Sec(60))));
        PushJob("b");
        Accept<Completed>(_s.Complete(new Complete("a", r.Token)));
        Assert.Equal(1, _s.ReadyCount);
        Assert.False(_s.CanReserve);
    }

    [Fact]
    public void Resume_ends_a_pause_and_does_nothing_when_not_paused()
    {
        PushJob("job");
        var none = _s.Resume();
        Assert.Null(none.Event);
        Assert.Same(Resumed.Instance, none.Reply);

        Accept<Paused>(_s.Pause(new Pause(Sec(30))));
        Go(10);
        var decision = _s.Resume();
        Assert.Equal(new QueueResumed(At(10)), decision.Event);
        Accept<Resumed>(decision);
        Assert.Null(_s.PausedUntil);
        Assert.True(_s.CanReserve);
        Assert.Null(_s.NextDueAt);

        Go(40);
        Assert.Null(_s.Resume().Event); // the pause ended by itself
    }

    [Fact]
    public void Pause_with_a_bad_duration_is_refused_and_zero_pauses_nothing()
    {
        UseLimits(new QueueLimits { MaxDelay = TimeSpan.FromHours(1) });
        PushJob("job");
        Rejects(RejectReason.InvalidDuration, s => s.Pause(new Pause(Sec(-1))));
        Rejects(RejectReason.InvalidDuration, s => s.Pause(new Pause(TimeSpan.FromHours(1) + TimeSpan.FromTicks(1))));

        Assert.Equal(new Paused(T0), Accept<Paused>(_s.Pause(new Pause(TimeSpan.Zero))));
        Assert.Null(_s.PausedUntil);
        Assert.True(_s.CanReserve);
    }

    [Fact]
    public void A_second_pause_replaces_the_first()
    {
        Accept<Paused>(_s.Pause(new Pause(Sec(100))));
        Go(10);
        Accept<Paused>(_s.Pause(new Pause(Sec(5))));
        Assert.Equal(At(15), _s.PausedUntil);
        Go(15);
        Assert.Null(_s.PausedUntil);
    }

    [Fact]
    public void CheckWait_refuses_negative_and_over_long_waits()
    {
        UseLimits(new QueueLimits { MaxDelay = TimeSpan.FromHours(1) });
        Assert.Null(_s.CheckWait(TimeSpan.Zero));
        Assert.Null(_s.CheckWait(TimeSpan.FromHours(1)));
        Assert.Equal(RejectReason.InvalidWait, _s.CheckWait(Sec(-1))!.Reason);
        Assert.Equal(RejectReason.InvalidWait, _s.CheckWait(TimeSpan.FromHours(2))!.Reason);
    }

    // ================================================================ time

    [Fact]
    public void Advance_to_an_earlier_time_changes_nothing()
    {
        PushJob("d", delay: 10);
        PushJob("r", ttr: 20);
        Reserve();
        Go(5);
        var before = _s.ToSnapshot();

        Assert.False(Go(4));
        Assert.False(Go(5));
        Assert.False(_s.Advance(DateTimeOffset.MinValue));
        Assert.Equal(At(5), _s.Now);
        Assert.True(before.SameAs(_s.ToSnapshot()));

        Go(10);
        Assert.Equal(JobState.Ready, View("d").State);
        Assert.False(Go(1));
        Assert.Equal(At(10), _s.Now);
        Assert.Equal(JobState.Ready, View("d").State);
    }

    [Fact]
    public void Applying_an_event_from_the_past_does_not_move_Now_back()
    {
        Go(100);
        _s.Apply(new JobPushed(At(50), new Job("old", Q, Work, 1024, Sec(60), 10, null, At(50)), null));
        Assert.Equal(At(100), _s.Now);
        Assert.Equal(JobState.Ready, View("old").State);
    }

    [Fact]
    public void Advance_uses_the_instant_not_the_offset()
    {
        PushJob("d", delay: 60);
        var due = At(60);
        Assert.False(_s.Advance(due.ToOffset(TimeSpan.FromHours(5)) - TimeSpan.FromTicks(1)));
        Assert.True(_s.Advance(due.ToOffset(TimeSpan.FromHours(-3))));
        Assert.Equal(JobState.Ready, View("d").State);
    }

    [Fact]
    public void Events_that_do_not_fit_the_state_throw()
    {
        PushJob("job");
        Assert.Throws<InvalidOperationException>(() => _s.Apply(new JobCompleted(At(1), "nope")));
        Assert.Throws<InvalidOperationException>(() => _s.Apply(new JobCompleted(At(1), "job")));
        Assert.Throws<InvalidOperationException>(() => _s.Apply(new JobsKicked(At(1), ["job"])));
        Assert.Throws<InvalidOperationException>(() => _s.Apply(new JobPushed(At(1), View("job").Job, null)));
    }

    // ================================================================ determinism and replay

    private static JobQueueState Replay(IEnumerable<IEvent> events, QueueLimits? limits = null, JobQueueState? from = null)
    {
        var state = from ?? new JobQueueState(Q, limits);
        foreach (var e in events)
            state.Apply(e);
        return state;
    }

    private void Apply(IEvent? evt)
    {
        Assert.NotNull(evt);
        _s.Apply(evt);
        _events.Add(evt);
    }

    [Fact]
    public void Replaying_the_events_of_a_mixed_scenario_rebuilds_the_same_state()
    {
        var limits = new QueueLimits { DefaultMaxRetries = 1 };
        UseLimits(limits);

        PushJob("a", priority: 10, ttr: 5);
        var b = PushJob(priority: 2000, delay: 20);
        PushJob("c", ttr: 3, maxRetries: 0);
        PushJob("p", period: 30, ttr: 4, maxRetries: 0);
        PushJob("d", delay: 5, ttr: 60);
        Go(1);
        var ra = Reserve("w1");
        var rc = Reserve("w2");
        var rp = Reserve("w1");
        Assert.Equal(["a", "c", "p"], new[] { ra.Job.Id, rc.Job.Id, rp.Job.Id });
        Go(2);
        Accept<Touched>(_s.Touch(new Touch("a", ra.Token))); // deadline 7
        Go(4.5); // c expired at 4 with no retries: buried
        Assert.Equal(JobState.Buried, View("c").State);
        Go(5); // p expired at 5: next run at 30; d due
        Assert.Equal(JobState.Delayed, View("p").State);
        Go(6);
        Accept<Released>(_s.Release(new Release("a", ra.Token) { Delay = Sec(10), Priority = 5, Error = "boom" }));
        var rd = Reserve("w3");
        Assert.Equal("d", rd.Job.Id);

        var midSnapshot = _s.ToSnapshot();
        var midIndex = _events.Count;

        Go(8);
        Accept<JobQueue.Buried>(_s.Bury(new Bury("d", rd.Token, "bad") { Priority = 7 }));
        Go(9);
        Assert.Equal(1, Accept<Kicked>(_s.Kick(new Kick(1))).Count); // c
        var rc2 = Reserve("w1");
        Assert.Equal("c", rc2.Job.Id);
        Apply(_s.LoseLease("c", rc2.Token, "worker died")); // buried again
        Go(10);
        Accept<KickedJob>(_s.KickJob(new KickJob("a")));
        Accept<Deleted>(_s.Delete(new Delete(b)));
        Go(11);
        Accept<Paused>(_s.Pause(new Pause(Sec(4))));
        Go(13);
        Go(15);
        var ra2 = Reserve("w2");
        Assert.Equal("a", ra2.Job.Id);
        Accept<Completed>(_s.Complete(new Complete("a", ra2.Token)));
        Go(30);
        Go(31);
        var rp2 = Reserve("w1");
        Go(32);
        Assert.Equal(At(60), Accept<Completed>(_s.Complete(new Complete("p", rp2.Token))).NextRunAt);
        PushJob("e", ttr: 2, maxRetries: -1);
        Reserve("w4");
        Go(34);
        Go(40);
        Reserve("w4");
        PushJob("f", delay: 100, priority: 1);
        Go(61); // p ready again; e expired at 42
        Assert.Equal(2, Accept<Kicked>(_s.Kick(new Kick(10))).Count); // c and d
        Assert.Null(_s.Resume().Event);
        var rp3 = Reserve("w5");
        Go(62);
        Accept<Touched>(_s.Touch(new Touch(rp3.Job.Id, rp3.Token)));
        PushJob("g", delay: 3);

        var end = At(500);
        _s.Advance(end);
        var live = _s.ToSnapshot();
        Assert.Equal(6, _s.Count);

        var replayed = Replay(_events, limits);
        replayed.Advance(end);
        AssertSame(live, replayed.ToSnapshot());

        var restored = JobQueueState.FromSnapshot(midSnapshot, limits);
        AssertSame(midSnapshot, restored.ToSnapshot());
        Replay(_events.Skip(midIndex), from: restored);
        restored.Advance(end);
        AssertSame(replayed.ToSnapshot(), restored.ToSnapshot());

        // Stopping the replay at the midpoint gives the midpoint snapshot.
        AssertSame(midSnapshot, Replay(_events.Take(midIndex), limits).ToSnapshot());
    }

    [Fact]
    public void Snapshot_round_trip_keeps_every_state_and_counter()
    {
        PushJob("ready", priority: 3);
        PushJob("delayed", delay: 50);
        PushJob("reserved", priority: 1, ttr: 20);
        PushJob("buried", priority: 2);
        PushJob("periodic", period: 45, delay: 10);
        var r = Reserve("w1");
        var b = Reserve("w2");
        Accept<JobQueue.Buried>(_s.Bury(new Bury("buried", b.Token, "why") { Priority = 8 }));
        Accept<Paused>(_s.Pause(new Pause(Sec(15))));

        var snapshot = _s.ToSnapshot();
        var restored = JobQueueState.FromSnapshot(snapshot);
        AssertSame(snapshot, restored.ToSnapshot());
        Assert.Equal(_s.ReadyCount, restored.ReadyCount);
        Assert.Equal(_s.UrgentCount, restored.UrgentCount);
        Assert.Equal(_s.DelayedCount, restored.DelayedCount);
        Assert.Equal(_s.ReservedCount, restored.ReservedCount);
        Assert.Equal(_s.BuriedCount, restored.BuriedCount);
        Assert.Equal(_s.NextDueAt, restored.NextDueAt);
        Assert.Equal(_s.PausedUntil, restored.PausedUntil);
        Assert.Equal(_s.NextSeq, restored.NextSeq);
        Assert.Equal(_s.LeasesOf("w1"), restored.LeasesOf("w1"));
        Assert.Equal(_s.ReadyJobs, restored.ReadyJobs);
        Assert.Equal(_s.DelayedJobs, restored.DelayedJobs);
        Assert.Equal(_s.ReservedJobs, restored.ReservedJobs);
        Assert.Equal(_s.BuriedJobs, restored.BuriedJobs);

        // The restored state goes on exactly as the original.
        foreach (var s in new[] { _s, restored })
        {
            s.Apply(s.Complete(new Complete("reserved", r.Token)).Event!);
            s.Apply(s.Push(NewPush("new")).Event!);
            s.Apply(s.Kick(new Kick(5)).Event!);
            s.Advance(At(100));
        }
        AssertSame(_s.ToSnapshot(), restored.ToSnapshot());
        Assert.Equal(6, restored.View("new")?.Seq);
    }

    /// <summary>Checks what must hold after every operation. Plain loops: it runs thousands of times.</summary>
    private static void CheckInvariants(JobQueueState s)
    {
        if (s.Count != s.ReadyCount + s.DelayedCount + s.ReservedCount + s.BuriedCount)
            Assert.Fail($"{s.Count} jobs but {s.ReadyCount} + {s.DelayedCount} + {s.ReservedCount} + {s.BuriedCount} in the four states");

        DateTimeOffset? next = s.PausedUntil;
        void Due(DateTimeOffset at)
        {
            if (next is null || at < next)
                next = at;
        }

        JobView? previous = null;
        int ready = 0, urgent = 0;
        foreach (var v in s.ReadyJobs)
        {
            if (v.State != JobState.Ready)
                Assert.Fail($"job {v.Job.Id} in the ready set is {v.State}");
            if (previous is not null && !(previous.Priority < v.Priority || (previous.Priority == v.Priority && previous.Seq < v.Seq)))
                Assert.Fail($"ready jobs out of (priority, seq) order: {previous.Job.Id} before {v.Job.Id}");
            if (v.Priority < Job.UrgentBelow)
                urgent++;
            if (ready++ == 0)
                Assert.Equal(v, s.PeekReady());
            previous = v;
        }
        if (ready == 0)
            Assert.Null(s.PeekReady());
        Assert.Equal(s.ReadyCount, ready);
        Assert.Equal(urgent, s.UrgentCount);

        previous = null;
        var delayed = 0;
        foreach (var v in s.DelayedJobs)
        {
            var due = v.DueAt ?? DateTimeOffset.MinValue;
            if (v.State != JobState.Delayed || due <= s.Now)
                Assert.Fail($"job {v.Job.Id} in the delayed set is {v.State}, due at {v.DueAt} (now {s.Now})");
            if (previous is not null && previous.DueAt > due)
                Assert.Fail($"delayed jobs out of order: {previous.Job.Id} before {v.Job.Id}");
            if (delayed++ == 0)
                Assert.Equal(v, s.PeekDelayed());
            Due(due);
            previous = v;
        }
        if (delayed == 0)
            Assert.Null(s.PeekDelayed());
        Assert.Equal(s.DelayedCount, delayed);

        previous = null;
        var reserved = 0;
        foreach (var v in s.ReservedJobs)
        {
            var deadline = v.LeaseDeadline ?? DateTimeOffset.MinValue;
            if (v.State != JobState.Reserved || deadline <= s.Now || v.Attempt < 1)
                Assert.Fail($"job {v.Job.Id} in the lease set is {v.State}, deadline {v.LeaseDeadline} (now {s.Now}), attempt {v.Attempt}");
            if (previous is not null && previous.LeaseDeadline > deadline)
                Assert.Fail($"leases out of order: {previous.Job.Id} before {v.Job.Id}");
            Due(deadline);
            reserved++;
            previous = v;
        }
        Assert.Equal(s.ReservedCount, reserved);
        var held = 0;
        foreach (var holder in s.Holders)
            held += s.LeasesOf(holder).Count;
        Assert.Equal(reserved, held);

        var buried = 0;
        foreach (var v in s.BuriedJobs)
        {
            if (v.State != JobState.Buried)
                Assert.Fail($"job {v.Job.Id} in the buried set is {v.State}");
            if (buried++ == 0)
                Assert.Equal(v, s.PeekBuried());
        }
        if (buried == 0)
            Assert.Null(s.PeekBuried());
        Assert.Equal(s.BuriedCount, buried);

        if (s.PausedUntil is { } until && until <= s.Now)
            Assert.Fail($"the pause ended at {until} but now is {s.Now}");
        Assert.Equal(ready > 0 && s.PausedUntil is null, s.CanReserve);
        Assert.Equal(next, s.NextDueAt);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    [InlineData(20260101)]
    public void Random_operations_keep_the_invariants_and_replay_to_the_same_state(int seed)
    {
        var limits = new QueueLimits { DefaultMaxRetries = 2, MaxTextLength = 20 };
        UseLimits(limits);
        var rnd = new Random(seed);
        var ids = Enumerable.Range(0, 40).Select(i => $"job-{i}").ToArray();
        uint[] priorities = [0, 5, 1023, 1024, 2000];
        int?[] retries = [null, -1, 0, 1, 3];

        string RandomId() => rnd.Next(4) == 0 ? rnd.Next(1, (int)_s.NextSeq + 1).ToString(System.Globalization.CultureInfo.InvariantCulture) : ids[rnd.Next(ids.Length)];
        double Seconds(double max) => Math.Round(rnd.NextDouble() * max, 3);
        (string JobId, long Token)[] Leases() => _s.Holders.SelectMany(_s.LeasesOf).OrderBy(l => l.JobId, StringComparer.Ordinal).ToArray();

        void Decide(Decision d)
        {
            if (d.Event is not null)
            {
                Assert.Equal(_s.Now, d.Event.At);
                _s.Apply(d.Event);
                _events.Add(d.Event);
            }
        }

        void Refuse<TFailure>(Func<JobQueueState, Decision> decide) where TFailure : IFailure
        {
            // Refusals are checked against the full snapshot now and then (cheap enough, and they are pure).
            if (rnd.Next(10) == 0)
                Refused<TFailure>(decide);
            else
                Assert.IsType<TFailure>(decide(_s).Reply);
        }

        const int operations = 3000;
        JobQueueSnapshot? midSnapshot = null;
        var midIndex = 0;
        var counts = new int[14];
        for (var i = 0; i < operations; i++)
        {
            if (i == operations / 2)
            {
                midSnapshot = _s.ToSnapshot();
                midIndex = _events.Count;
            }
            var op = rnd.Next(counts.Length);
            counts[op]++;
            switch (op)
            {
                case 0 or 1: // push
                {
                    var id = rnd.Next(3) == 0 ? null : ids[rnd.Next(ids.Length)];
                    var push = NewPush(
                        id,
                        priority: rnd.Next(4) == 0 ? null : priorities[rnd.Next(priorities.Length)],
                        delay: rnd.Next(2) == 0 ? 0 : Seconds(20),
                        ttr: rnd.Next(4) == 0 ? null : 0.5 + Seconds(15),
                        maxRetries: retries[rnd.Next(retries.Length)],
                        period: rnd.Next(3) == 0 ? 1 + Seconds(40) : null);
                    var d = _s.Push(push);
                    if (d.Event is null)
                        Assert.IsType<AlreadyExists>(d.Reply);
                    Decide(d);
                    break;
                }
                case 2: // time goes by, in small steps and now and then a big one
                    _s.Advance(_s.Now + Sec(rnd.Next(10) == 0 ? Seconds(90) : Seconds(3)));
                    break;
                case 3: // the actor's timer fires at NextDueAt, a few times in a row with no command between
                    for (var ticks = rnd.Next(1, 6); ticks > 0 && _s.NextDueAt is { } due; ticks--)
                        Assert.True(_s.Advance(due + TimeSpan.FromMilliseconds(rnd.Next(3))));
                    break;
                case 4 or 5: // reserve
                    if (_s.CanReserve)
                    {
                        var expected = _s.PeekReady()!.Job.Id;
                        var d = _s.Reserve($"w{rnd.Next(5)}", rnd.NextInt64(1, long.MaxValue));
                        Assert.Equal(expected, Assert.IsType<Reserved>(d.Reply).Job.Id);
                        Decide(d);
                    }
                    break;
                case 6 or 7 or 8: // a verdict on a lease: complete, release, bury, touch; now and then a stale token
                {
                    var leases = Leases();
                    if (leases.Length == 0)
                        break;
                    var (jobId, token) = leases[rnd.Next(leases.Length)];
                    var stale = rnd.Next(8) == 0;
                    var t = stale ? token ^ 1 : token;
                    Func<JobQueueState, Decision> decide = rnd.Next(4) switch
                    {
                        0 => s => s.Complete(new Complete(jobId, t)),
                        1 => s => s.Release(new Release(jobId, t)
                        {
                            Delay = rnd.Next(2) == 0 ? TimeSpan.Zero : Sec(Seconds(10)),
                            Priority = rnd.Next(3) == 0 ? priorities[rnd.Next(priorities.Length)] : null,
                            Error = rnd.Next(2) == 0 ? null : $"error {rnd.Next(100)}",
                        }),
                        2 => s => s.Bury(new Bury(jobId, t, $"reason {rnd.Next(100)}") { Priority = rnd.Next(2) == 0 ? null : priorities[rnd.Next(priorities.Length)] }),
                        _ => s => s.Touch(new Touch(jobId, t)),
                    };
                    if (stale)
                        Refuse<StaleLease>(decide);
                    else
                        Decide(decide(_s));
                    break;
                }
                case 9: // a holder dies
                {
                    var leases = Leases();
                    if (leases.Length == 0)
                        break;
                    var (jobId, token) = leases[rnd.Next(leases.Length)];
                    Assert.Null(_s.LoseLease(jobId, token ^ 1, "stale"));
                    var lost = _s.LoseLease(jobId, token, "holder died");
                    Assert.NotNull(lost);
                    _s.Apply(lost);
                    _events.Add(lost);
                    break;
                }
                case 10: // kick
                    if (rnd.Next(10) == 0)
                        Refuse<Rejected>(s => s.Kick(new Kick(-1)));
                    else
                        Decide(_s.Kick(new Kick(rnd.Next(4))));
                    break;
                case 11: // kick one job
                {
                    var id = RandomId();
                    var view = _s.View(id);
                    if (view is null)
                        Refuse<NotFound>(s => s.KickJob(new KickJob(id)));
                    else if (view.State is JobState.Ready or JobState.Reserved)
                        Refuse<NotKickable>(s => s.KickJob(new KickJob(id)));
                    else
                        Decide(_s.KickJob(new KickJob(id)));
                    break;
                }
                case 12: // delete
                {
                    var id = RandomId();
                    if (_s.View(id) is null)
                        Refuse<NotFound>(s => s.Delete(new Delete(id)));
                    else
                        Decide(_s.Delete(new Delete(id)));
                    break;
                }
                default: // pause or resume
                    Decide(rnd.Next(3) == 0 ? _s.Pause(new Pause(Sec(Seconds(10)))) : _s.Resume());
                    break;
            }
            CheckInvariants(_s);
            if (i % 250 == 0)
                AssertSame(_s.ToSnapshot(), JobQueueState.FromSnapshot(_s.ToSnapshot(), limits).ToSnapshot());
        }

        // The run touched every part of the state machine.
        Assert.All(counts, c => Assert.True(c > 50));
        Assert.True(_events.OfType<JobPushed>().Count() > 100);
        Assert.Contains(_events, e => e is JobCompleted);
        Assert.Contains(_events, e => e is LeaseLost);
        Assert.Contains(_events, e => e is JobsKicked);

        var end = _s.Now + TimeSpan.FromHours(1);
        _s.Advance(end);
        var live = _s.ToSnapshot();

        var replayed = Replay(_events, limits);
        replayed.Advance(end);
        CheckInvariants(replayed);
        AssertSame(live, replayed.ToSnapshot());

        var restored = JobQueueState.FromSnapshot(midSnapshot!, limits);
        Replay(_events.Skip(midIndex), from: restored);
        restored.Advance(end);
        AssertSame(replayed.ToSnapshot(), restored.ToSnapshot());
    }

    // ================================================================ naming a job by its sequence number

    private static string Digits(long seq) => seq.ToString(System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public void Pushed_and_Reserved_carry_the_jobs_sequence_number()
    {
        var generated = Accept<Pushed>(_s.Push(NewPush()));
        var own = Accept<Pushed>(_s.Push(NewPush("report-7", priority: 0)));
        var late = Accept<Pushed>(_s.Push(NewPush("late", delay: 10)));
        Assert.Equal(new Pushed("1", JobState.Ready) { Seq = 1 }, generated);
        Assert.Equal(new Pushed("report-7", JobState.Ready) { Seq = 2 }, own);
        Assert.Equal(new Pushed("late", JobState.Delayed) { Seq = 3 }, late);

        var first = Reserve();
        Assert.Equal(("report-7", 2L), (first.Job.Id, first.Seq));
        var second = Reserve();
        Assert.Equal(("1", 1L), (second.Job.Id, second.Seq));
        var byId = Accept<Reserved>(_s.ReserveJob(new ReserveJob("late"), "w1", ++_lastToken));
        Assert.Equal(("late", 3L), (byId.Job.Id, byId.Seq));
        Assert.Equal([1L, 2L, 3L], _s.ReservedJobs.Select(v => v.Seq).Order());
    }

    [Fact]
    public void A_job_with_an_id_of_its_own_is_reserved_touched_released_buried_kicked_and_completed_by_its_sequence_number()
    {
        PushJob();                                   // seq 1, id "1"
        PushJob("report-7", priority: 5, ttr: 30);   // seq 2
        PushJob("other", priority: 0);               // seq 3: first in the ready order
        const string seq = "2";

        var view = View(seq);
        Assert.Equal(("report-7", 2L, JobState.Ready), (view.Job.Id, view.Seq, view.State));

        // reserve-job
        Go(1);
        var reserveJob = _s.ReserveJob(new ReserveJob(seq), "w1", 500);
        Assert.Equal(new JobReserved(At(1), "report-7", 500, At(31), "w1"), reserveJob.Event);
        var reserved = Accept<Reserved>(reserveJob);
        Assert.Equal(("report-7", 2L, 500L), (reserved.Job.Id, reserved.Seq, reserved.Token));
        Assert.True(_s.IsLeasedTo("report-7", "w1"));
        Assert.Equal([("report-7", 500L)], _s.LeasesOf("w1"));

        // touch
        Go(2);
        var touch = _s.Touch(new Touch(seq, 500));
        Assert.Equal(new JobTouched(At(2), "report-7", At(32)), touch.Event);
        Assert.Equal(new Touched("report-7", At(32)), Accept<Touched>(touch));

        // release
        var release = _s.Release(new Release(seq, 500) { Priority = 1, Error = "again" });
        Assert.Equal(new JobReleased(At(2), "report-7", 1, null, "again"), release.Event);
        Assert.Equal(new Released("report-7", JobState.Ready), Accept<Released>(release));
        Assert.Equal((JobState.Ready, 1u), (View("report-7").State, View("report-7").Priority));

        // bury
        Accept<Reserved>(_s.ReserveJob(new ReserveJob(seq), "w1", 501));
        var bury = _s.Bury(new Bury(seq, 501, "bad") { Priority = 9 });
        Assert.Equal(new JobBuried(At(2), "report-7", "bad", 9), bury.Event);
        Assert.Equal(new JobQueue.Buried("report-7"), Accept<JobQueue.Buried>(bury));
        Assert.Equal(JobState.Buried, View(seq).State);

        // kick-job
        Go(3);
        var kick = _s.KickJob(new KickJob(seq));
        Assert.Equal(["report-7"], Assert.IsType<JobsKicked>(kick.Event).JobIds);
        Assert.Equal(new KickedJob("report-7"), Accept<KickedJob>(kick));
        Assert.Equal(JobState.Ready, View(seq).State);

        // complete
        var again = Accept<Reserved>(_s.ReserveJob(new ReserveJob(seq), "w2", 502));
        Assert.Equal(2, again.Seq);
        var complete = _s.Complete(new Complete(seq, 502));
        Assert.Equal(new JobCompleted(At(3), "report-7"), complete.Event);
        Assert.Equal(new Completed("report-7", null), Accept<Completed>(complete));
        Assert.Null(_s.View(seq));
        Assert.Null(_s.View("report-7"));
        Assert.Equal(["other", "1"], ReadyIds);

        // The events name the job by its id: they replay (an event naming "2" would be for an unknown job).
        Assert.DoesNotContain(_events, e => e is JobReserved { JobId: "2" } or JobTouched { JobId: "2" } or JobReleased { JobId: "2" }
            or JobBuried { JobId: "2" } or JobCompleted { JobId: "2" } or JobsKicked { JobIds: ["2"] });
        AssertSame(_s.ToSnapshot(), Replay(_events).ToSnapshot());
    }

    [Theory]
    [MemberData(nameof(AllStates))]
    public void A_job_with_an_id_of_its_own_is_deleted_by_its_sequence_number_in_any_state(JobState state)
    {
        PushJob("keep");
        PushJob("nightly", priority: 0, delay: state == JobState.Delayed ? 50 : 0);
        if (state is JobState.Reserved or JobState.Buried)
        {
            var r = Reserve("w1");
            Assert.Equal("nightly", r.Job.Id);
            if (state == JobState.Buried)
                Accept<JobQueue.Buried>(_s.Bury(new Bury("2", r.Token, "x")));
        }
        Assert.Equal(state, View("2").State);

        Go(1);
        var delete = _s.Delete(new Delete("2"));
        Assert.Equal(new JobDeleted(At(1), "nightly"), delete.Event);
        Assert.Equal(new Deleted("nightly"), Accept<Deleted>(delete));
        Assert.Null(_s.View("nightly"));
        Assert.Null(_s.View("2"));
        Assert.Equal(new NotFound("2"), Refused<NotFound>(s => s.Delete(new Delete("2"))));
        Assert.Empty(_s.Holders);
        Assert.Equal("keep", Assert.Single(_s.ReadyJobs).Job.Id);
        AssertSame(_s.ToSnapshot(), Replay(_events).ToSnapshot());
    }

    [Fact]
    public void Refusals_of_a_job_named_by_its_sequence_number_carry_its_id()
    {
        PushJob("ready-one");       // seq 1
        PushJob("held", priority: 0); // seq 2
        var held = Reserve("w1");
        Assert.Equal("held", held.Job.Id);

        Assert.Equal(new NotReserved("ready-one", JobState.Ready), Refused<NotReserved>(s => s.Complete(new Complete("1", held.Token))));
        Assert.Equal(new NotKickable("ready-one", JobState.Ready), Refused<NotKickable>(s => s.KickJob(new KickJob("1"))));
        foreach (var (_, decide) in LeaseCommands("2", held.Token + 1))
            Assert.Equal(new StaleLease("held"), Refused<StaleLease>(decide));
        Assert.Equal(new NotKickable("held", JobState.Reserved), Refused<NotKickable>(s => s.KickJob(new KickJob("2"))));
        Assert.Equal(new Leased("held"), Refused<Leased>(s => s.ReserveJob(new ReserveJob("2"), "w2", 9)));
        Assert.Equal(new Leased("held"), Refused<Leased>(s => s.Delete(new Delete("2") { SpareLeased = true })));
    }

    [Fact]
    public void A_generated_id_job_is_found_by_its_id_beside_jobs_with_ids_of_their_own()
    {
        PushJob();             // "1"
        PushJob("named");      // seq 2
        PushJob(priority: 0);  // "3"
        PushJob(delay: 30);    // "4"

        Assert.Equal(("1", 1L), (View("1").Job.Id, View("1").Seq));
        Assert.Equal(("3", 3L), (View("3").Job.Id, View("3").Seq));
        var r = Accept<Reserved>(_s.ReserveJob(new ReserveJob("3"), "w1", 77));
        Assert.Equal(("3", 3L), (r.Job.Id, r.Seq));
        Assert.Equal(new Completed("3", null), Accept<Completed>(_s.Complete(new Complete("3", 77))));
        Assert.Equal(new KickedJob("4"), Accept<KickedJob>(_s.KickJob(new KickJob("4"))));
        Assert.Equal(new Deleted("1"), Accept<Deleted>(_s.Delete(new Delete("1"))));
        Assert.Equal(["named", "4"], ReadyIds);
    }

    [Fact]
    public void A_queue_of_generated_ids_only_finds_its_jobs_as_before()
    {
        PushJob();
        PushJob();
        var r = Reserve();
        Assert.Equal(("1", 1L), (r.Job.Id, r.Seq));
        Assert.Equal(new Released("1", JobState.Ready), Accept<Released>(_s.Release(new Release("1", r.Token))));
        Assert.Equal(new Deleted("2"), Accept<Deleted>(_s.Delete(new Delete("2"))));
        Assert.Equal(new NotFound("3"), Refused<NotFound>(s => s.Delete(new Delete("3"))));
        Assert.Equal(["1"], ReadyIds);
    }

    public static TheoryData<string> DigitsOfNoJob => new()
    {
        "4",                      // the next sequence number: not pushed yet
        "3",                      // a job that was deleted
        "0",
        "99",
        "9223372036854775807",    // long.MaxValue
        "99999999999999999999",   // beyond a long
    };

    [Theory]
    [MemberData(nameof(DigitsOfNoJob))]
    public void Digits_that_name_no_job_are_NotFound(string digits)
    {
        PushJob("a");
        PushJob("b");
        PushJob("c");
        Accept<Deleted>(_s.Delete(new Delete("c")));
        var r = Reserve(); // "a", seq 1
        AssertNotFound(digits, r.Token);
    }

    public static TheoryData<string> ZeroPrefixedDigits => new() { "01", "02", "001", "00" };

    [Theory]
    [MemberData(nameof(ZeroPrefixedDigits))]
    public void Zero_prefixed_digits_are_NotFound(string digits)
    {
        PushJob("a", priority: 0); // seq 1
        PushJob();                 // seq 2, id "2"
        var r = Reserve();         // "a"
        Assert.Equal("a", r.Job.Id);
        AssertNotFound(digits, r.Token);
    }

    /// <summary>Every command that names a job is NotFound for <paramref name="digits"/>, carrying them, and changes nothing.</summary>
    private void AssertNotFound(string digits, long token)
    {
        Assert.Null(_s.View(digits));
        foreach (var (name, decide) in LeaseCommands(digits, token))
            Assert.True(new NotFound(digits).Equals(Refused<NotFound>(decide)), name);
        Assert.Equal(new NotFound(digits), Refused<NotFound>(s => s.ReserveJob(new ReserveJob(digits), "w9", 5)));
        Assert.Equal(new NotFound(digits), Refused<NotFound>(s => s.KickJob(new KickJob(digits))));
        Assert.Equal(new NotFound(digits), Refused<NotFound>(s => s.Delete(new Delete(digits))));
        Assert.Equal(new NotFound(digits), Refused<NotFound>(s => s.Delete(new Delete(digits) { SpareLeased = true })));
    }

    [Fact]
    public void A_sequence_number_names_its_job_after_a_replay_and_after_a_snapshot()
    {
        PushJob("a");
        PushJob("b", delay: 20);
        PushJob();
        PushJob("d");
        Accept<Deleted>(_s.Delete(new Delete("a")));

        var replayed = Replay(_events);
        var restored = JobQueueState.FromSnapshot(_s.ToSnapshot());
        foreach (var s in new[] { _s, replayed, restored })
        {
            Assert.Null(s.View("1"));
            Assert.Equal("b", s.View("2")?.Job.Id);
            Assert.Equal("3", s.View("3")?.Job.Id);
            Assert.Equal("d", s.View("4")?.Job.Id);
            var kick = s.KickJob(new KickJob("2"));
            Assert.Equal(new KickedJob("b"), kick.Reply);
            s.Apply(kick.Event!);
            var reserved = s.ReserveJob(new ReserveJob("4"), "w1", 3);
            Assert.Equal(("d", 4L), (((Reserved)reserved.Reply).Job.Id, ((Reserved)reserved.Reply).Seq));
            s.Apply(reserved.Event!);
            Assert.Equal(new Completed("d", null), s.Complete(new Complete("4", 3)).Reply);
        }
        AssertSame(_s.ToSnapshot(), replayed.ToSnapshot());
        AssertSame(_s.ToSnapshot(), restored.ToSnapshot());
    }

    // ================================================================ replaying in batches

    [Fact]
    public void An_empty_batch_changes_nothing()
    {
        PushJob("a");
        var before = _s.ToSnapshot();
        _s.Apply(new EventBatch([]));
        AssertSame(before, _s.ToSnapshot());
    }

    [Fact]
    public void A_batch_is_applied_in_order_each_event_at_its_own_time()
    {
        // A lease that expires between two events of one batch: the reserve after it finds the job ready again.
        PushJob("job", ttr: 5, maxRetries: -1);
        Reserve("w1");
        Go(6); // expired at 5
        var second = Reserve("w2");
        Assert.Equal(2, second.Attempt);
        var live = _s.ToSnapshot();

        var batched = new JobQueueState(Q);
        batched.Apply(new EventBatch(_events));
        batched.Advance(_s.Now);
        AssertSame(live, batched.ToSnapshot());
        Assert.Equal(1, batched.LeaseTimeouts);
    }

    [Theory]
    [InlineData(11)]
    [InlineData(12)]
    [InlineData(13)]
    [InlineData(20260202)]
    public void Replaying_in_batches_of_any_size_gives_the_same_state_as_one_event_at_a_time(int seed)
    {
        var limits = new QueueLimits { DefaultMaxRetries = 2, MaxTextLength = 20 };
        UseLimits(limits);
        var rnd = new Random(seed);
        RandomScenario(rnd, operations: 2500);
        Assert.True(_events.Count > 1000, $"only {_events.Count} events");
        var end = _s.Now + TimeSpan.FromHours(1);
        _s.Advance(end);
        var live = _s.ToSnapshot();

        var chunks = new Random(seed * 7919);
        var oneByOne = new JobQueueState(Q, limits);
        var batched = new JobQueueState(Q, limits);
        var at = 0;
        var batches = 0;
        while (at < _events.Count)
        {
            var size = Math.Min(chunks.Next(1, 201), _events.Count - at);
            var chunk = _events.GetRange(at, size);
            batched.Apply(new EventBatch(chunk));
            foreach (var e in chunk)
                oneByOne.Apply(e);
            at += size;
            batches++;
            AssertSame(oneByOne.ToSnapshot(), batched.ToSnapshot());
        }
        Assert.True(batches > 5, $"only {batches} batches");
        batched.Advance(end);
        oneByOne.Advance(end);
        AssertSame(live, oneByOne.ToSnapshot());
        AssertSame(live, batched.ToSnapshot());
        Assert.Equal(oneByOne.LeaseTimeouts, batched.LeaseTimeouts);
        CheckInvariants(batched);

        // From a snapshot in the middle, the rest in batches.
        var half = _events.Count / 2;
        var restored = JobQueueState.FromSnapshot(Replay(_events.Take(half), limits).ToSnapshot(), limits);
        for (at = half; at < _events.Count;)
        {
            var size = Math.Min(chunks.Next(1, 201), _events.Count - at);
            restored.Apply(new EventBatch(_events.GetRange(at, size)));
            at += size;
        }
        restored.Advance(end);
        AssertSame(live, restored.ToSnapshot());
    }

    /// <summary>
    /// Random operations on <see cref="_s"/>, recorded in <see cref="_events"/>, in the style of
    /// <see cref="Random_operations_keep_the_invariants_and_replay_to_the_same_state"/>: jobs of both kinds
    /// of id, named by id or by sequence number, and every kind of event.
    /// </summary>
    private void RandomScenario(Random rnd, int operations)
    {
        var ids = Enumerable.Range(0, 30).Select(i => $"job-{i}").ToArray();
        uint[] priorities = [0, 5, 1023, 1024, 2000];
        int?[] retries = [null, -1, 0, 1, 3];
        double Seconds(double max) => Math.Round(rnd.NextDouble() * max, 3);
        string AnyName() => rnd.Next(3) == 0 ? Digits(rnd.NextInt64(1, _s.NextSeq + 1)) : ids[rnd.Next(ids.Length)];

        void Decide(Decision d)
        {
            if (d.Event is null)
                return;
            _s.Apply(d.Event);
            _events.Add(d.Event);
        }

        for (var i = 0; i < operations; i++)
        {
            var leases = _s.Holders.SelectMany(_s.LeasesOf).OrderBy(l => l.JobId, StringComparer.Ordinal).ToArray();
            // Lease commands name the job by id or, for one of its own, by its sequence number.
            string Name((string JobId, long Token) lease) =>
                rnd.Next(2) == 0 && !Names.IsDigits(lease.JobId) ? Digits(_s.View(lease.JobId)!.Seq) : lease.JobId;
            switch (rnd.Next(12))
            {
                case 0 or 1:
                    Decide(_s.Push(NewPush(
                        rnd.Next(3) == 0 ? null : ids[rnd.Next(ids.Length)],
                        priority: rnd.Next(4) == 0 ? null : priorities[rnd.Next(priorities.Length)],
                        delay: rnd.Next(2) == 0 ? 0 : Seconds(20),
                        ttr: rnd.Next(4) == 0 ? null : 0.5 + Seconds(15),
                        maxRetries: retries[rnd.Next(retries.Length)],
                        period: rnd.Next(4) == 0 ? 1 + Seconds(40) : null)));
                    break;
                case 2:
                    _s.Advance(_s.Now + Sec(rnd.Next(10) == 0 ? Seconds(90) : Seconds(3)));
                    break;
                case 3 or 4:
                    if (_s.CanReserve)
                        Decide(_s.Reserve($"w{rnd.Next(4)}", rnd.NextInt64(1, long.MaxValue)));
                    else
                        Decide(_s.ReserveJob(new ReserveJob(AnyName()), $"w{rnd.Next(4)}", rnd.NextInt64(1, long.MaxValue)));
                    break;
                case 5 or 6:
                {
                    if (leases.Length == 0)
                        break;
                    var lease = leases[rnd.Next(leases.Length)];
                    var name = Name(lease);
                    Decide(rnd.Next(4) switch
                    {
                        0 => _s.Complete(new Complete(name, lease.Token)),
                        1 => _s.Release(new Release(name, lease.Token) { Delay = rnd.Next(2) == 0 ? TimeSpan.Zero : Sec(Seconds(10)), Error = rnd.Next(2) == 0 ? null : "e" }),
                        2 => _s.Bury(new Bury(name, lease.Token, "r") { Priority = rnd.Next(2) == 0 ? null : priorities[rnd.Next(priorities.Length)] }),
                        _ => _s.Touch(new Touch(name, lease.Token)),
                    });
                    break;
                }
                case 7:
                {
                    if (leases.Length == 0)
                        break;
                    var (jobId, token) = leases[rnd.Next(leases.Length)];
                    var lost = _s.LoseLease(jobId, token, "holder died");
                    Assert.NotNull(lost);
                    _s.Apply(lost);
                    _events.Add(lost);
                    break;
                }
                case 8:
                    Decide(_s.Kick(new Kick(rnd.Next(4))));
                    break;
                case 9:
                    Decide(_s.KickJob(new KickJob(AnyName())));
                    break;
                case 10:
                    Decide(_s.Delete(new Delete(AnyName())));
                    break;
                default:
                    Decide(rnd.Next(3) == 0 ? _s.Pause(new Pause(Sec(Seconds(10)))) : _s.Resume());
                    break;
            }
        }
        // Every kind of event is in the scenario.
        foreach (var kind in new[] { typeof(JobPushed), typeof(JobReserved), typeof(JobTouched), typeof(JobCompleted), typeof(JobReleased),
                     typeof(JobBuried), typeof(JobsKicked), typeof(JobDeleted), typeof(LeaseLost), typeof(QueuePaused), typeof(QueueResumed) })
            Assert.Contains(_events, e => e.GetType() == kind);
    }
}
