using System.Runtime.Serialization;
using System.Text;
using Akka.Serialization;
using Linda.Serialization;
using Xunit;
using Xunit.Abstractions;
using static Linda.JobQueue;
using Wire = Linda.Serialization.BinaryWriter;

namespace Linda.Tests;

/// <summary>
/// <see cref="LindaSerializer"/>: every message it knows survives a round trip through the serializer
/// the actor system picks for it, its manifests are pinned (they are stored in journals), and malformed
/// input fails with a <see cref="SerializationException"/>, never another exception or a wrong object.
/// </summary>
public sealed class SerializerSpec : Akka.TestKit.Xunit2.TestKit
{
    public SerializerSpec(ITestOutputHelper output)
        : base(LindaSettings.DefaultConfig, "serializer-spec", output)
    {
    }

    // ================================================================ data

    /// <summary>An instant with sub-millisecond ticks, so precision loss shows.</summary>
    private static readonly DateTimeOffset T0 = new DateTimeOffset(2026, 3, 14, 15, 9, 26, 535, TimeSpan.Zero).AddTicks(8979);

    /// <summary>The same kind of instant given with a non-UTC offset.</summary>
    private static readonly DateTimeOffset TIndia = new DateTimeOffset(2026, 3, 14, 20, 39, 27, TimeSpan.FromHours(5.5)).AddTicks(1234567);

    private static readonly DateTimeOffset TWest = new DateTimeOffset(2025, 12, 31, 23, 59, 59, TimeSpan.FromHours(-8)).AddTicks(9999999);

    private const string NonAscii = "jöb-ñ-日本語-🚀-Ω";

    private static readonly JobPayload SimplePayload = JobPayload.Create("printArgs", 1, "two", 3.5, true, null);

    /// <summary>JSON args whose text is full of escapes, control characters, raw multi-byte UTF-8 and base64.</summary>
    private static readonly JobPayload BinaryishPayload = JobPayload.FromUtf8Json(
        "Ünïcödé.Handler/🚀",
        Encoding.UTF8.GetBytes(
            "[\"\\u0000\\u0001\\u001f\\u007f\\u00ff\", \"\\ud83d\\ude80\", \"raw: Ωß日本語🚀\", "
            + "\"" + Convert.ToBase64String(Enumerable.Range(0, 256).Select(i => (byte)i).ToArray()) + "\", "
            + "{\"k\\\"ey\": [1e308, -0.0, 18446744073709551615]}, null]"));

    private static readonly JobPayload EmptyArgsPayload = JobPayload.FromJson("", "[]");

    /// <summary>Args of ~100 KB, so the buffer grows and lengths take several varint bytes.</summary>
    private static readonly JobPayload LargePayload = JobPayload.Create("big", new string('x', 100_000), Enumerable.Range(0, 1000).ToArray());

    private const string Traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

    private static readonly Job PlainJob = new("1", "jobs", SimplePayload, Job.DefaultPriority, TimeSpan.FromSeconds(60), 10, null, T0);

    private static readonly Job FancyJob = new(
        NonAscii, "очередь", BinaryishPayload, uint.MaxValue, TimeSpan.FromTicks(1), null, TimeSpan.FromDays(1).Add(TimeSpan.FromTicks(7)), TIndia);

    private static readonly Job EdgeJob = new(
        "", "", EmptyArgsPayload, 0, TimeSpan.MaxValue, int.MinValue, TimeSpan.Zero, DateTimeOffset.MinValue);

    private static readonly Job MaxJob = new(
        "max", "jobs", LargePayload, 0, TimeSpan.MinValue, -1, TimeSpan.MaxValue, DateTimeOffset.MaxValue);

    private static readonly (string Name, object Message)[] Cases = BuildCases();

    private static (string, object)[] BuildCases()
    {
        var cases = new List<(string, object)>();
        var seen = new Dictionary<string, int>();

        void Add(object message, string? label = null)
        {
            var type = message.GetType().Name;
            seen[type] = seen.GetValueOrDefault(type) + 1;
            cases.Add(($"{type}#{seen[type]}{(label is null ? "" : " " + label)}", message));
        }

        // ------------------------------------------------------------ commands
        Add(new Push("jobs", SimplePayload), "options unset");
        Add(new Push("jobs", SimplePayload) { TraceParent = Traceparent }, "with a trace context");
        Add(new Push("очередь-🚀", BinaryishPayload)
        {
            Id = NonAscii,
            Priority = 7,
            Delay = TimeSpan.FromMinutes(5).Add(TimeSpan.FromTicks(3)),
            TimeToRun = TimeSpan.FromSeconds(30),
            MaxRetries = 3,
            Period = TimeSpan.FromHours(1),
        }, "options set");
        Add(new Push("jobs", EmptyArgsPayload) { Id = "", Priority = 0, TimeToRun = TimeSpan.Zero, MaxRetries = 0, Period = TimeSpan.Zero }, "zero values");
        Add(new Push("jobs", LargePayload)
        {
            Priority = uint.MaxValue,
            Delay = TimeSpan.MaxValue,
            TimeToRun = TimeSpan.MinValue,
            MaxRetries = int.MinValue,
            Period = TimeSpan.MaxValue,
        }, "extremes");
        Add(Later("jobs", SimplePayload, TimeSpan.FromSeconds(-1)), "negative delay");
        Add(new Reserve(TimeSpan.Zero));
        Add(new Reserve(TimeSpan.FromSeconds(30)));
        Add(new Reserve(TimeSpan.MaxValue));
        Add(new Reserve(TimeSpan.MinValue));
        Add(new Reserve(TimeSpan.FromSeconds(30)) { HoldsNone = true, Pull = long.MaxValue });
        Add(new Complete("1", 0));
        Add(new Complete(NonAscii, long.MinValue));
        Add(new Complete("x", long.MaxValue));
        Add(new Release("1", 42), "options unset");
        Add(new Release(NonAscii, -1) { Delay = TimeSpan.FromSeconds(10), Priority = 0, Error = "boom: " + NonAscii + "\n\tat X()" }, "options set");
        Add(new Release("1", 42) { Error = "" }, "empty error");
        Add(new Bury("1", 42, "bad input"), "priority unset");
        Add(new Bury(NonAscii, long.MaxValue, "") { Priority = uint.MaxValue }, "priority set");
        Add(new Kick(0));
        Add(new Kick(int.MaxValue));
        Add(new Kick(-1));
        Add(new Kick(int.MinValue));
        Add(new KickJob("1"));
        Add(new KickJob(NonAscii));
        Add(new Touch("1", 7));
        Add(new Touch(NonAscii, long.MinValue));
        Add(new Delete("1"));
        Add(new Delete(NonAscii));
        Add(new Delete("2") { SpareLeased = true });
        Add(new ReserveJob("3"));
        Add(CancelReserve.Instance);
        Add(new Leased("4"));
        Add(new Peek("1"));
        Add(new Peek(""));
        Add(PeekReady.Instance);
        Add(PeekDelayed.Instance);
        Add(PeekBuried.Instance);
        Add(new GetJob("1"));
        Add(new GetJob(NonAscii));
        Add(GetStats.Instance);
        Add(new Pause(TimeSpan.FromMinutes(1)));
        Add(new Pause(TimeSpan.Zero));
        Add(new Pause(TimeSpan.MaxValue));
        Add(JobQueue.Resume.Instance);
        Add(Locate.Instance);
        Add(GetHealth.Instance);
        Add(JobQueueActor.InspectState.Instance);
        // what the sharded placement sends: any message a queue takes, in an envelope naming the queue
        Add(new QueueEnvelope("jobs", new Complete("1", 7)), "a verdict");
        Add(new QueueEnvelope("очередь-🚀", new Push("очередь-🚀", BinaryishPayload) { Id = NonAscii, Delay = TimeSpan.FromSeconds(5) }), "a push");
        Add(new QueueEnvelope("jobs", new Reserve(TimeSpan.FromSeconds(30)) { HoldsNone = true, Pull = 3 }), "a reserve");
        Add(new QueueEnvelope("jobs", GetStats.Instance), "a singleton command");
        Add(new QueueEnvelope("jobs", JobQueueActor.InspectState.Instance), "an inspection");
        Add(new QueueEnvelope("", new QueueEnvelope("jobs", Locate.Instance)), "an envelope in an envelope");
        Add(new ListJobs(JobState.Buried), "first page");
        Add(new ListJobs(JobState.Ready) { After = "1024.57", Limit = 1000, Reverse = true }, "after a cursor, reversed");

        // ------------------------------------------------------------ replies
        foreach (var state in Enum.GetValues<JobState>())
            Add(new Pushed("1", state), state.ToString());
        Add(new Pushed(NonAscii, JobState.Delayed));
        Add(new Reserved(PlainJob, 1, T0.AddSeconds(60), 1));
        Add(new Reserved(PlainJob with { Payload = JobPayload.Raw("beanstalk", [0, 13, 10, 255, 13, 10]) }, 1, T0.AddSeconds(60), 1));
        Add(new Reserved(PlainJob, 1, T0.AddSeconds(60), 1) { Pull = 42 });
        Add(new Reserved(PlainJob with { TraceParent = Traceparent }, 1, T0.AddSeconds(60), 1), "with a trace context");
        Add(new Reserved(PlainJob, 1, T0.AddSeconds(60), 1) { Seq = long.MaxValue });
        Add(new Pushed("own-id", JobState.Ready) { Seq = 1L << 40 });
        Add(new Reserved(FancyJob, long.MinValue, TIndia, int.MaxValue));
        Add(new Reserved(EdgeJob, long.MaxValue, DateTimeOffset.MinValue, 0));
        Add(new Reserved(MaxJob, -1, DateTimeOffset.MaxValue, int.MinValue));
        Add(ReserveTimedOut.Instance);
        Add(new Completed("1", null), "not periodic");
        Add(new Completed(NonAscii, TWest), "periodic");
        Add(new Released("1", JobState.Ready));
        Add(new Released(NonAscii, JobState.Delayed));
        Add(new Buried("1"));
        Add(new Buried(NonAscii));
        Add(new Kicked(0));
        Add(new Kicked(int.MaxValue));
        Add(new KickedJob("1"));
        Add(new KickedJob(NonAscii));
        Add(new Touched("1", T0));
        Add(new Touched(NonAscii, TIndia));
        Add(new Deleted("1"));
        Add(new Deleted(NonAscii));
        Add(new Paused(T0));
        Add(new Paused(DateTimeOffset.MaxValue));
        Add(Resumed.Instance);
        Add(new QueueStats("jobs", 0, 0, 0, 0, 0, 0, 0, null, new Dictionary<string, long>()), "empty, not paused");
        Add(new QueueStats("jobs", 0, 0, 0, 0, 0, 0, 0, null, new Dictionary<string, long>(), JobTimeouts: 12), "with timeouts");
        Add(new AddOrUpdateSchedule("daily", "0 2 * * *", JobPayload.Create("report", 1)), "a schedule with the defaults");
        Add(new AddOrUpdateSchedule(NonAscii, "*/5 * * * * *", JobPayload.Raw("raw", [0, 255]))
        {
            TimeZone = "Europe/Berlin", Misfire = Misfire.RunAll, Overlap = Overlap.Queue, Priority = 3, TimeToRun = TimeSpan.FromSeconds(9), MaxRetries = -1,
        }, "a schedule with everything set");
        Add(new RemoveSchedule("daily"));
        Add(new Cancel("1"));
        Add(new Push("jobs", JobPayload.Create("sync", 7)) { UniqueKey = "sync:" + NonAscii, UniqueFor = TimeSpan.FromMinutes(5), Timeout = TimeSpan.FromSeconds(3) }, "a unique push with a timeout");
        Add(new JobPushed(T0, PlainJob with { UniqueKey = "k", UniqueFor = TimeSpan.FromHours(1), Timeout = TimeSpan.FromMinutes(2), ConcurrencyKey = "tenant-" + NonAscii }, null), "a unique job with a timeout and a key pushed");
        Add(new Push("jobs", JobPayload.Create("sync")) { ConcurrencyKey = "customer-7" }, "a push with a concurrency key");
        Add(new Reserved(PlainJob with { Timeout = TimeSpan.FromSeconds(30) }, 3, T0, 1) { Pull = 2, Seq = 9 }, "reserved, with a run timeout");
        Add(new JobView(PlainJob with { UniqueKey = "k" }, JobState.Ready, 1, 1, null, null, 0, 0, 0, 0, 0, 0, null), "a unique job's view");
        Add(new Cancelled(NonAscii, true), "cancelled, was running");
        Add(new Cancelled("1", false), "cancelled, was waiting");
        Add(new CancelJob("1", long.MaxValue));
        Add(new ReportProgress("1", 7, 55, NonAscii), "progress");
        Add(new ReportProgress("1", 7, 0, null), "progress, no message");
        Add(new JobView(PlainJob, JobState.Reserved, 1, 1, null, T0, 1, 1, 0, 0, 0, 0, null, Holder: "h", Progress: 30, ProgressMessage: "a third", ProgressAt: TWest), "reserved, with progress");
        Add(new JobCancelled(T0, "1"));
        Add(new JobCancelRequested(TWest, NonAscii));
        Add(GetSchedules.Instance);
        Add(new ScheduleSaved("daily", T0), "saved");
        Add(new ScheduleSaved("daily", null), "saved, no next run");
        Add(new ScheduleRemoved("daily"));
        var definition = new ScheduleDefinition("daily", "0 2 * * *", "Europe/Berlin", JobPayload.Create("report", 1), Misfire.Skip, Overlap.Skip, 7, null, 3);
        Add(new ScheduleList([new ScheduleView(definition, T0, null, "daily/20260101T020000Z", T0.AddDays(-1), 4, 2),
            new ScheduleView(definition with { ScheduleId = "b", TimeToRun = TimeSpan.FromMinutes(1) }, null, TWest, null, null, 0, 0)]), "schedules");
        Add(new ScheduleList([]), "no schedules");
        Add(new ScheduleSet(T0, definition, T0.AddDays(1)), "schedule set");
        Add(new ScheduleDropped(T0, "daily"));
        Add(new ScheduleFired(T0, "daily", [T0.AddSeconds(-20), T0], 3, null, T0.AddDays(1)), "fired");
        Add(new ScheduleFired(T0, "daily", [], 1, T0, null), "fired, queued");
        Add(GetNodeInfo.Instance, "node info asked");
        Add(new NodeInfo("akka.tcp://linda@127.0.0.1:4053", [new NodeWorkers("jobs", 4), new NodeWorkers("очередь", 0)]), "node info");
        Add(new NodeInfo("akka://linda", []), "node info, no workers");
        Add(new QueueStats("jobs", 3, 0, 0, 0, 0, 0, 3, null, new Dictionary<string, long>(), Lag: TimeSpan.FromMilliseconds(1500), Failures: 7, Cancelled: 2), "with lag, failures and cancelled");
        Add(new QueueStats("очередь", 1, 2, 3, 4, 5, 6, long.MaxValue, TIndia, new Dictionary<string, long>
        {
            ["push"] = 10,
            ["reserve"] = long.MaxValue,
            ["kick"] = 0,
            [NonAscii] = 1,
            [""] = long.MinValue,
        }), "full, paused");
        Add(new QueueStats("", int.MaxValue, int.MinValue, -1, 0, 1, int.MaxValue, long.MinValue, DateTimeOffset.MinValue,
            new Dictionary<string, long> { ["x"] = -1 }), "extremes");
        Add(new JobView(PlainJob, JobState.Ready, 1024, 1, null, null, 0, 0, 0, 0, 0, 0, null), "ready");
        Add(new JobList(JobState.Delayed, [], null, 0), "empty");
        Add(new JobList(JobState.Ready, [new JobView(PlainJob, JobState.Ready, 1024, 1, null, null, 0, 0, 0, 0, 0, 0, null),
            new JobView(FancyJob, JobState.Ready, 5, 2, null, null, 1, 1, 0, 1, 0, 0, "retry later: " + NonAscii)], "5.2", 9), "a page with more after it");
        Add(new JobView(FancyJob, JobState.Delayed, 5, 2, TWest, null, 1, 1, 0, 1, 0, 0, "retry later: " + NonAscii), "delayed");
        Add(new JobView(PlainJob, JobState.Reserved, 0, long.MaxValue, null, T0.AddMinutes(1), 3, 3, 1, 1, 0, 0, ""), "reserved");
        Add(new JobView(PlainJob, JobState.Reserved, 0, 4, null, T0.AddMinutes(1), 1, 1, 0, 0, 0, 0, null, Holder: "akka.tcp://linda@127.0.0.1:4053/user/linda-workers-jobs/$a#12", CancelRequested: true), "reserved, with its holder, cancelling");
        Add(new JobView(EdgeJob, JobState.Buried, uint.MaxValue, long.MinValue, null, null, int.MaxValue, int.MaxValue, int.MinValue, -1, 7, 8, "gave up"), "buried");
        Add(new JobView(MaxJob, JobState.Delayed, 0, 0, DateTimeOffset.MaxValue, DateTimeOffset.MinValue, 0, 0, 0, 0, 0, 0, null), "both times set");
        Add(new NotFound("1"));
        Add(new NotFound(NonAscii));
        foreach (var state in Enum.GetValues<JobState>())
            Add(new NoJob(state), state.ToString());
        foreach (var state in Enum.GetValues<JobState>())
            Add(new NotReserved("1", state), state.ToString());
        Add(new StaleLease("1"));
        Add(new StaleLease(NonAscii));
        foreach (var state in Enum.GetValues<JobState>())
            Add(new NotKickable(NonAscii, state), state.ToString());
        Add(new AlreadyExists("1"));
        Add(new AlreadyExists(NonAscii));
        foreach (var reason in Enum.GetValues<RejectReason>())
            Add(new Rejected(reason, $"{reason}: {NonAscii}"), reason.ToString());
        Add(new Rejected(RejectReason.InvalidText, ""), "empty message");
        Add(new WriteFailed("disk full"));
        Add(new WriteFailed(NonAscii));
        Add(new Unavailable("queue jobs is stopping"));
        Add(new QueueHealth("jobs", true, T0, null, null, null, null, 0), "never wrote");
        Add(new QueueHealth("jobs", false, T0.AddSeconds(9), T0.AddSeconds(8), T0.AddSeconds(7), T0.AddSeconds(6), "the journal failed to write at 5: disk full", 3), "restarting after failures");
        Add(new Located(Akka.Actor.ActorRefs.Nobody)); // the round trip uses a live actor instead (see WithLiveRefs)

        // ------------------------------------------------------------ events
        Add(new JobPushed(T0, PlainJob, null), "ready");
        Add(new JobPushed(T0, PlainJob with { TraceParent = Traceparent }, null), "with a trace context");
        Add(new JobPushed(TIndia, FancyJob, TWest), "delayed");
        Add(new JobPushed(DateTimeOffset.MinValue, EdgeJob, DateTimeOffset.MaxValue), "edge");
        Add(new JobPushed(DateTimeOffset.MaxValue, MaxJob, DateTimeOffset.MinValue), "large");
        Add(new JobReserved(T0, "1", 1, T0.AddSeconds(60), "akka://linda/user/worker-1#123456789"));
        Add(new JobReserved(TIndia, NonAscii, long.MinValue, TWest, NonAscii));
        Add(new JobReserved(T0, "1", long.MaxValue, T0, ""));
        Add(new JobTouched(T0, "1", T0.AddSeconds(60)));
        Add(new JobTouched(TIndia, NonAscii, TWest));
        Add(new JobCompleted(T0, "1"));
        Add(new JobCompleted(TWest, NonAscii));
        Add(new JobReleased(T0, "1", null, null, null), "all unset");
        Add(new JobReleased(TIndia, NonAscii, 0, TWest, "error: " + NonAscii), "all set");
        Add(new JobReleased(T0, "1", uint.MaxValue, null, ""), "empty error");
        Add(new JobBuried(T0, "1", "reason", null), "priority unset");
        Add(new JobBuried(TIndia, NonAscii, "", uint.MaxValue), "priority set");
        Add(new JobsKicked(T0, []), "none");
        Add(new JobsKicked(TIndia, ["1", NonAscii, "", "1"]), "several");
        Add(new JobsKicked(T0, Enumerable.Range(0, 500).Select(i => $"job-{i}").ToList()), "many");
        Add(new JobDeleted(T0, "1"));
        Add(new JobDeleted(TWest, NonAscii));
        Add(new LeaseLost(T0, "1", 1, "holder akka://linda/user/w died"));
        Add(new LeaseLost(TIndia, NonAscii, long.MinValue, ""));
        Add(new QueuePaused(T0, T0.AddHours(1)));
        Add(new QueuePaused(TIndia, DateTimeOffset.MaxValue));
        Add(new QueueResumed(T0));
        Add(new QueueResumed(TWest));
        Add(new EventBatch([]), "empty");
        Add(new EventBatch([new JobPushed(T0, PlainJob, null)]), "one event");
        Add(new EventBatch(
        [
            new JobPushed(TIndia, FancyJob, TWest), new JobReserved(T0, "1", 1, T0.AddSeconds(60), "akka://linda/user/w#1"),
            new JobTouched(T0, "1", T0.AddSeconds(90)), new JobCompleted(T0, "1"), new JobReleased(TIndia, NonAscii, 0, TWest, "error"),
            new JobBuried(T0, "1", "reason", 7), new JobsKicked(T0, ["1", NonAscii]), new JobDeleted(TWest, NonAscii),
            new LeaseLost(T0, "1", 1, "holder died"), new QueuePaused(T0, T0.AddHours(1)), new QueueResumed(TWest),
        ]), "every kind of event");
        Add(new EventBatch([new JobPushed(DateTimeOffset.MaxValue, MaxJob, DateTimeOffset.MinValue), new JobPushed(T0, PlainJob, null)]), "large");

        // ------------------------------------------------------------ snapshots
        Add(new JobQueueSnapshot("jobs", T0, 1, 0, null, []), "empty");
        Add(FullSnapshot(), "a job in every state");
        Add(new JobQueueSnapshot("", DateTimeOffset.MaxValue, long.MaxValue, long.MinValue, DateTimeOffset.MinValue,
            [new JobSnapshot(MaxJob, long.MaxValue, JobState.Ready, uint.MaxValue, null, DateTimeOffset.MaxValue, 0, null, null, 0,
                int.MaxValue, int.MinValue, -1, 0, 1, 2, null)]), "extremes");
        Add(FullSnapshot() with
        {
            Schedules =
            [
                new ScheduleView(new ScheduleDefinition("daily", "0 2 * * *", "Europe/Berlin", JobPayload.Create("report", 1), Misfire.RunAll, Overlap.Queue, 3, TimeSpan.FromSeconds(5), -1),
                    T0, TWest, "daily/20260101T020000Z", T0.AddDays(-1), 12, 3),
                new ScheduleView(new ScheduleDefinition(NonAscii, "*/5 * * * * *", "UTC", JobPayload.Raw("raw", [1]), Misfire.Skip, Overlap.Allow, 1024, null, null),
                    null, null, null, null, 0, 0),
            ],
        }, "with schedules");
        Add(FullSnapshot() with { Jobs = FullSnapshot().Jobs.Select(j => j.State == JobState.Reserved ? j with { CancelRequested = true } : j).ToArray() }, "a running job being cancelled");
        Add(FullSnapshot() with
        {
            Jobs = FullSnapshot().Jobs.Select((j, i) => i == 0 ? j with { Job = j.Job with { UniqueKey = "k0", UniqueFor = TimeSpan.FromSeconds(30), Timeout = TimeSpan.FromSeconds(5) } } : j).ToArray(),
            UniqueHolds = [new UniqueHoldSnapshot("done", "9", T0.AddMinutes(5)), new UniqueHoldSnapshot(NonAscii, NonAscii, DateTimeOffset.MaxValue)],
        }, "unique keys");

        return cases.ToArray();
    }

    /// <summary>A snapshot holding jobs in every state, each with the fields that state uses.</summary>
    private static JobQueueSnapshot FullSnapshot() => new(
        "очередь", TIndia, 12, 3, TWest,
        [
            // ready: nothing state-specific
            new JobSnapshot(PlainJob, 1, JobState.Ready, 1024, null, T0, 0, null, null, 0, 0, 0, 0, 0, 0, 0, null),
            // ready again after a release, with counters and an error
            new JobSnapshot(PlainJob with { Id = "2", TraceParent = Traceparent }, 2, JobState.Ready, 3, null, T0, 0, null, null, 0, 2, 2, 1, 1, 0, 1, "timed out"),
            // delayed: DueAt
            new JobSnapshot(FancyJob, 5, JobState.Delayed, uint.MaxValue, TWest, TWest, 0, null, null, 0, 0, 0, 0, 0, 0, 0, null),
            // reserved: token, lease deadline, holder
            new JobSnapshot(PlainJob with { Id = "r" }, 7, JobState.Reserved, 0, null, T0, long.MinValue, T0.AddMinutes(1),
                "akka://linda/user/worker-" + NonAscii + "#42", 0, 1, 1, 0, 0, 0, 0, ""),
            // reserved by a holder recorded as empty (how FromSnapshot treats a missing holder)
            new JobSnapshot(EdgeJob, 8, JobState.Reserved, 9, null, DateTimeOffset.MinValue, long.MaxValue, DateTimeOffset.MaxValue,
                "", 0, 3, 4, 2, 1, 0, 0, null),
            // buried: BuryOrder
            new JobSnapshot(PlainJob with { Id = "b", Payload = BinaryishPayload }, 9, JobState.Buried, 1024, null, T0, 0, null, null, 2,
                11, 11, 10, 0, 1, 0, "retries used up: " + NonAscii),
            new JobSnapshot(PlainJob with { Id = "b2" }, 11, JobState.Buried, 5, null, T0, 0, null, null, long.MaxValue, 1, 1, 0, 0, 1, 0, "bad"),
        ]);

    /// <summary>The name of every round-trip case (the cases themselves are not xunit-serializable).</summary>
    public static TheoryData<string> CaseNames()
    {
        var data = new TheoryData<string>();
        foreach (var (name, _) in Cases)
            data.Add(name);
        return data;
    }

    private static object Case(string name) => Cases.Single(c => c.Name == name).Message;

    /// <summary>An actor reference only resolves to itself when it is an actor of this system: the test actor.</summary>
    private object WithLiveRefs(object message) => message is Located ? new Located(TestActor) : message;

    private LindaSerializer LindaFor(object message)
    {
        var serializer = Sys.Serialization.FindSerializerFor(message);
        Assert.True(serializer is LindaSerializer,
            $"{message.GetType()} is serialized by {serializer.GetType()} (id {serializer.Identifier}), not by LindaSerializer");
        Assert.Equal(LindaSerializer.Id, serializer.Identifier);
        return (LindaSerializer)serializer;
    }

    private static void AssertEquivalent(object expected, object actual)
    {
        Assert.IsType(expected.GetType(), actual);
        switch (expected)
        {
            case QueueStats e:
                var a = (QueueStats)actual;
                Assert.Equal(e with { Commands = a.Commands }, a); // every field but the dictionary
                Assert.Equal(e.Commands.OrderBy(kv => kv.Key, StringComparer.Ordinal), a.Commands.OrderBy(kv => kv.Key, StringComparer.Ordinal));
                break;
            case JobsKicked e:
                var k = (JobsKicked)actual;
                Assert.Equal(e.At, k.At);
                Assert.Equal(e.At.UtcTicks, k.At.UtcTicks);
                Assert.True(e.JobIds.SequenceEqual(k.JobIds, StringComparer.Ordinal), "the kicked job ids differ");
                break;
            case EventBatch e:
                var b = (EventBatch)actual;
                Assert.Equal(e.Events.Count, b.Events.Count);
                for (var i = 0; i < e.Events.Count; i++)
                    AssertEquivalent(e.Events[i], b.Events[i]);
                break;
            case JobQueueSnapshot e:
                var s = (JobQueueSnapshot)actual;
                Assert.True(e.SameAs(s), $"the snapshot differs:\nexpected {Describe(e)}\nactual   {Describe(s)}");
                break;
            default:
                Assert.Equal(expected, actual);
                break;
        }
    }

    private static string Describe(JobQueueSnapshot s) => $"{s} jobs [{string.Join(", ", s.Jobs)}] schedules [{string.Join(", ", s.Schedules)}]";

    // ================================================================ round trip

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Every_message_round_trips_through_the_serializer_the_system_binds_to_it(string name)
    {
        var message = WithLiveRefs(Case(name));
        var serializer = LindaFor(message);

        var manifest = serializer.Manifest(message);
        Assert.Equal(message.GetType(), LindaSerializer.Manifests[manifest]);
        var bytes = serializer.ToBinary(message);
        AssertEquivalent(message, serializer.FromBinary(bytes, manifest));

        // and through the system's serialization, which resolves the serializer by its stored id
        var back = Sys.Serialization.Deserialize(bytes, LindaSerializer.Id, manifest);
        AssertEquivalent(message, back);

        // deterministic: the same message always gives the same bytes
        Assert.Equal(bytes, serializer.ToBinary(message));
        // the copy writes the same bytes as the original
        Assert.Equal(bytes, serializer.ToBinary(back));
    }

    [Fact]
    public void The_round_trip_cases_cover_every_registered_type()
    {
        var covered = Cases.Select(c => c.Message.GetType()).ToHashSet();
        var registered = LindaSerializer.Manifests.Values.ToHashSet();

        var missing = registered.Except(covered).Select(t => t.FullName).Order(StringComparer.Ordinal).ToList();
        Assert.True(missing.Count == 0, $"no round-trip case for: {string.Join(", ", missing)}");
        var unknown = covered.Except(registered).Select(t => t.FullName).ToList();
        Assert.True(unknown.Count == 0, $"round-trip cases for unregistered types: {string.Join(", ", unknown)}");
        Assert.Equal(Cases.Length, Cases.Select(c => c.Name).Distinct().Count());
    }

    [Fact]
    public void Every_concrete_protocol_type_is_registered()
    {
        // a new message type that implements IQueueMessage would be bound to LindaSerializer by the
        // HOCON binding and then fail at runtime if it has no codec
        var protocol = typeof(IQueueMessage).Assembly.GetTypes()
            .Where(t => typeof(IQueueMessage).IsAssignableFrom(t) && t is { IsInterface: false, IsAbstract: false })
            .ToHashSet();
        var registered = LindaSerializer.Manifests.Values.ToHashSet();
        var missing = protocol.Except(registered).Select(t => t.FullName).Order(StringComparer.Ordinal).ToList();
        Assert.True(missing.Count == 0, $"IQueueMessage types without a manifest: {string.Join(", ", missing)}");
    }

    // ================================================================ the journal contract

    [Fact]
    public void The_serializer_id_and_the_manifests_never_change()
    {
        Assert.Equal(417, LindaSerializer.Id);

        // Stored with every journal row: changing, reusing or removing one breaks existing journals.
        // Adding a type adds a line here.
        var expected = new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            // commands
            ["cPush3"] = "Linda.JobQueue+Push",
            ["cRsv"] = "Linda.JobQueue+Reserve",
            ["cCmp"] = "Linda.JobQueue+Complete",
            ["cRel"] = "Linda.JobQueue+Release",
            ["cBur"] = "Linda.JobQueue+Bury",
            ["cKck"] = "Linda.JobQueue+Kick",
            ["cKjb"] = "Linda.JobQueue+KickJob",
            ["cTch"] = "Linda.JobQueue+Touch",
            ["cDel2"] = "Linda.JobQueue+Delete",
            ["cRsvJ"] = "Linda.JobQueue+ReserveJob",
            ["cCnR"] = "Linda.JobQueue+CancelReserve",
            ["cPek"] = "Linda.JobQueue+Peek",
            ["cPkR"] = "Linda.JobQueue+PeekReady",
            ["cPkD"] = "Linda.JobQueue+PeekDelayed",
            ["cPkB"] = "Linda.JobQueue+PeekBuried",
            ["cGet"] = "Linda.JobQueue+GetJob",
            ["cSta"] = "Linda.JobQueue+GetStats",
            ["cPau"] = "Linda.JobQueue+Pause",
            ["cRes"] = "Linda.JobQueue+Resume",
            ["cLoc"] = "Linda.JobQueue+Locate",
            ["cHlth"] = "Linda.JobQueue+GetHealth",
            ["cInsp"] = "Linda.JobQueueActor+InspectState",
            ["cEnv"] = "Linda.JobQueue+QueueEnvelope",
            ["cList"] = "Linda.JobQueue+ListJobs",
            // replies
            ["rPushed2"] = "Linda.JobQueue+Pushed",
            ["rRsv4"] = "Linda.JobQueue+Reserved",
            ["rRsvTO"] = "Linda.JobQueue+ReserveTimedOut",
            ["rCmp"] = "Linda.JobQueue+Completed",
            ["rRel"] = "Linda.JobQueue+Released",
            ["rBur"] = "Linda.JobQueue+Buried",
            ["rKck"] = "Linda.JobQueue+Kicked",
            ["rKjb"] = "Linda.JobQueue+KickedJob",
            ["rTch"] = "Linda.JobQueue+Touched",
            ["rDel"] = "Linda.JobQueue+Deleted",
            ["rPau"] = "Linda.JobQueue+Paused",
            ["rRes"] = "Linda.JobQueue+Resumed",
            ["rSta3"] = "Linda.JobQueue+QueueStats",
            ["rView3"] = "Linda.JobView",
            ["rList2"] = "Linda.JobQueue+JobList",
            ["rNF"] = "Linda.JobQueue+NotFound",
            ["rNoJob"] = "Linda.JobQueue+NoJob",
            ["rNR"] = "Linda.JobQueue+NotReserved",
            ["rStale"] = "Linda.JobQueue+StaleLease",
            ["rNK"] = "Linda.JobQueue+NotKickable",
            ["rLsd"] = "Linda.JobQueue+Leased",
            ["rAE"] = "Linda.JobQueue+AlreadyExists",
            ["rRej"] = "Linda.JobQueue+Rejected",
            ["rWF"] = "Linda.JobQueue+WriteFailed",
            ["rUna"] = "Linda.JobQueue+Unavailable",
            ["rHlth"] = "Linda.JobQueue+QueueHealth",
            ["rLoc"] = "Linda.JobQueue+Located",
            ["cNode"] = "Linda.JobQueue+GetNodeInfo",
            ["cCancel"] = "Linda.JobQueue+Cancel",
            ["rCanc"] = "Linda.JobQueue+Cancelled",
            ["cCnJob"] = "Linda.JobQueue+CancelJob",
            ["cProg"] = "Linda.JobQueue+ReportProgress",
            ["eCanc"] = "Linda.JobQueue+JobCancelled",
            ["eCancReq"] = "Linda.JobQueue+JobCancelRequested",
            ["cSchSet"] = "Linda.JobQueue+AddOrUpdateSchedule",
            ["cSchDel"] = "Linda.JobQueue+RemoveSchedule",
            ["cSchGet"] = "Linda.JobQueue+GetSchedules",
            ["rSchSav"] = "Linda.JobQueue+ScheduleSaved",
            ["rSchRem"] = "Linda.JobQueue+ScheduleRemoved",
            ["rSchList"] = "Linda.JobQueue+ScheduleList",
            ["eSchSet"] = "Linda.JobQueue+ScheduleSet",
            ["eSchDrop"] = "Linda.JobQueue+ScheduleDropped",
            ["eSchFire"] = "Linda.JobQueue+ScheduleFired",
            ["rNode"] = "Linda.JobQueue+NodeInfo",
            // events
            ["ePush3"] = "Linda.JobQueue+JobPushed",
            ["eRsv"] = "Linda.JobQueue+JobReserved",
            ["eTch"] = "Linda.JobQueue+JobTouched",
            ["eCmp"] = "Linda.JobQueue+JobCompleted",
            ["eRel"] = "Linda.JobQueue+JobReleased",
            ["eBur"] = "Linda.JobQueue+JobBuried",
            ["eKck"] = "Linda.JobQueue+JobsKicked",
            ["eDel"] = "Linda.JobQueue+JobDeleted",
            ["eLost"] = "Linda.JobQueue+LeaseLost",
            ["ePau"] = "Linda.JobQueue+QueuePaused",
            ["eRes"] = "Linda.JobQueue+QueueResumed",
            ["eBatch"] = "Linda.JobQueue+EventBatch",
            // snapshots
            ["sQueue5"] = "Linda.JobQueueSnapshot",
        };

        var actual = new SortedDictionary<string, string>(
            LindaSerializer.Manifests.ToDictionary(kv => kv.Key, kv => kv.Value.FullName!), StringComparer.Ordinal);
        Assert.Equal(expected, actual);
    }

    /// <summary>
    /// Bytes written by this version, kept verbatim: the encoding of persisted events and snapshots is a
    /// contract with existing journals just as the manifests are.
    /// </summary>
    [Theory]
    [MemberData(nameof(GoldenCases))]
    public void Bytes_written_by_this_version_still_read(string manifest, string hex, string expected)
    {
        var serializer = LindaFor(PeekReady.Instance);
        var message = serializer.FromBinary(Convert.FromHexString(hex), manifest);
        AssertEquivalent(Golden[expected], message);
        // A retired manifest is only read: its message is written in the current form.
        if (serializer.Manifest(message) == manifest)
            Assert.Equal(hex, Convert.ToHexString(serializer.ToBinary(message)));
    }

    private static readonly Dictionary<string, object> Golden = new()
    {
        ["JobPushed"] = new JobPushed(T0,
            new Job("7", "jobs", JobPayload.FromJson("send", "[\"ö\",1]"), 1024, TimeSpan.FromSeconds(60), 10, TimeSpan.FromHours(1), T0), T0.AddMinutes(5)),
        ["JobReserved"] = new JobReserved(T0, "7", 3, T0.AddSeconds(60), "akka://linda/user/w#1"),
        ["JobReleased"] = new JobReleased(T0, "7", 5, null, "boom"),
        ["JobsKicked"] = new JobsKicked(T0, ["7", "8"]),
        ["EventBatch"] = new EventBatch([new JobCompleted(T0, "7"), new JobsKicked(T0, ["7", "8"])]),
        ["JobQueueSnapshot"] = new JobQueueSnapshot("jobs", T0, 9, 2, null,
        [
            new JobSnapshot(new Job("7", "jobs", JobPayload.FromJson("send", "[]"), 1, TimeSpan.FromSeconds(60), null, null, T0),
                7, JobState.Reserved, 1, null, T0, 3, T0.AddSeconds(60), "h", 0, 1, 1, 0, 0, 0, 0, null),
            new JobSnapshot(new Job("8", "jobs", JobPayload.FromJson("send", "[]"), 2, TimeSpan.FromSeconds(60), 0, null, T0),
                8, JobState.Buried, 2, null, T0, 0, null, null, 1, 1, 1, 0, 0, 1, 0, "bad"),
        ]),
        ["JobQueueSnapshot3"] = new JobQueueSnapshot("jobs", T0, 9, 2, null,
        [
            new JobSnapshot(new Job("own", "jobs", JobPayload.Raw("beanstalk", [1, 2]), 1, TimeSpan.FromSeconds(60), null, TimeSpan.FromMinutes(5), T0),
                7, JobState.Delayed, 1, T0.AddSeconds(30), T0, 0, null, null, 0, 0, 0, 0, 1, 0, 0, null, TimeSpan.FromSeconds(30)),
        ]),
        ["JobQueueSnapshot2"] = new JobQueueSnapshot("jobs", T0, 9, 2, null,
        [
            new JobSnapshot(new Job("7", "jobs", JobPayload.Raw("beanstalk", [1, 2]), 1, TimeSpan.FromSeconds(60), null, null, T0),
                7, JobState.Delayed, 1, T0.AddSeconds(30), T0, 0, null, null, 0, 0, 0, 0, 1, 0, 0, null, TimeSpan.FromSeconds(30)),
        ]),
    };

    public static TheoryData<string, string, string> GoldenCases() => new()
    {
        // At, Job (id, queue, payload kind 0, class, args, priority, ttr, max retries, period, created), DueAt
        { "ePush", "839CE6AEDB81DE080237056A6F6273000573656E64085B22C3B6222C315D800880989ABC0401140180A0A39C8C02839CE6AEDB81DE080183FAB661DC81DE08", "JobPushed" },
        { "eRsv", "839CE6AEDB81DE080237030000000000000083E2A9D2DB81DE0816616B6B613A2F2F6C696E64612F757365722F772331", "JobReserved" },
        { "eRel", "839CE6AEDB81DE08023701050005626F6F6D", "JobReleased" },
        { "eKck", "839CE6AEDB81DE080402370238", "JobsKicked" },
        // eBatch: the count, then each event's manifest and its bytes
        { "eBatch", "040565436D70839CE6AEDB81DE08023705654B636B839CE6AEDB81DE080402370238", "EventBatch" },
        { "sQueue1", "056A6F6273839CE6AEDB81DE08120400040237056A6F6273000573656E64025B5D0180989ABC040000839CE6AEDB81DE080E030100839CE6AEDB81DE0803000000000000000183E2A9D2DB81DE08026800020200000000000238056A6F6273000573656E64025B5D0280989ABC04010000839CE6AEDB81DE0810040200839CE6AEDB81DE08000000000000000000000202020000020004626164", "JobQueueSnapshot" },
        // sQueue2: each job ends with its delay (here a raw payload, kind 1, delayed 30 s)
        { "sQueue2", "056A6F6273839CE6AEDB81DE08120400020237056A6F6273010A6265616E7374616C6B0201020180989ABC040000839CE6AEDB81DE080E020101833FC8C0DB81DE08839CE6AEDB81DE08000000000000000000000000000002000000808C8D9E02", "JobQueueSnapshot2" },
        // sQueue3: a name table ("send", "h"), then each job: flags, sequence delta, class index, body, ...;
        // generated ids (the sequence number) are not written, an id of its own is
        { "sQueue3", "056A6F6273839CE6AEDB81DE08120400040573656E64026804410E00025B5D0180989ABC04839CE6AEDB81DE080301839CE6AEDB81DE08030000000000000083E2A9D2DB81DE08040002020000000000150200025B5D0280989ABC0400839CE6AEDB81DE080402839CE6AEDB81DE08020202000002000462616400", "JobQueueSnapshot" },
        { "sQueue3", "056A6F6273839CE6AEDB81DE08120400020A6265616E7374616C6B022A0E046F776E000201020180989ABC0480F882AD16839CE6AEDB81DE080201833FC8C0DB81DE08839CE6AEDB81DE0800000000020000808C8D9E02", "JobQueueSnapshot3" },
    };

    // ================================================================ time

    [Fact]
    public void Times_keep_their_utc_ticks_and_an_offset_comes_back_as_the_same_instant()
    {
        foreach (var time in new[] { T0, TIndia, TWest, DateTimeOffset.MinValue, DateTimeOffset.MaxValue, DateTimeOffset.UnixEpoch,
                     new DateTimeOffset(1, 1, 1, 14, 0, 0, TimeSpan.FromHours(14)), new DateTimeOffset(9999, 12, 31, 0, 0, 0, TimeSpan.FromHours(-14)) })
        {
            foreach (var message in new object[]
                     {
                         new Paused(time), new Completed("1", time), new JobCompleted(time, "1"),
                         new Reserved(PlainJob with { CreatedAt = time }, 1, time, 1),
                         new JobQueueSnapshot("jobs", time, 1, 0, time, []),
                     })
            {
                var back = RoundTrip(message);
                var times = back switch
                {
                    Paused p => [p.Until],
                    Completed c => [c.NextRunAt!.Value],
                    JobCompleted e => [e.At],
                    Reserved r => [r.Deadline, r.Job.CreatedAt],
                    JobQueueSnapshot s => new[] { s.Now, s.PausedUntil!.Value },
                    _ => throw new InvalidOperationException(),
                };
                foreach (var t in times)
                {
                    Assert.Equal(time.UtcTicks, t.UtcTicks);
                    Assert.Equal(time.UtcDateTime, t.UtcDateTime);
                    Assert.True(time == t, $"{t:O} is not the instant {time:O}");
                    Assert.Equal(TimeSpan.Zero, t.Offset); // read back in UTC
                }
            }
        }
    }

    [Fact]
    public void A_time_is_written_as_its_utc_ticks_whatever_its_offset()
    {
        var serializer = LindaFor(new QueueResumed(T0));
        var utc = serializer.ToBinary(new QueueResumed(TIndia.ToUniversalTime()));
        Assert.Equal(utc, serializer.ToBinary(new QueueResumed(TIndia)));
        Assert.Equal(utc, serializer.ToBinary(new QueueResumed(TIndia.ToOffset(TimeSpan.FromHours(-3)))));
        Assert.Equal(BitConverter.GetBytes(TIndia.UtcTicks), utc); // little-endian on every platform we run
    }

    // ================================================================ malformed input

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Truncated_bytes_fail_with_a_serialization_exception(string name)
    {
        var message = Case(name);
        var serializer = LindaFor(message);
        var manifest = serializer.Manifest(message);
        var bytes = serializer.ToBinary(message);

        // every shorter prefix (sampled for the large messages)
        var lengths = bytes.Length <= 2048
            ? Enumerable.Range(0, bytes.Length)
            : Enumerable.Range(0, 512).Concat(Enumerable.Range(bytes.Length - 512, 512)).Concat(Enumerable.Range(0, bytes.Length / 997).Select(i => i * 997)).Distinct();
        foreach (var length in lengths)
        {
            var e = AssertFails(serializer, bytes[..length], manifest);
            Assert.Contains(manifest, e.Message);
            Assert.Contains("truncated", e.Message);
        }
    }

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Extra_trailing_bytes_fail_with_a_serialization_exception(string name)
    {
        var message = Case(name);
        var serializer = LindaFor(message);
        var manifest = serializer.Manifest(message);
        var bytes = serializer.ToBinary(message);

        foreach (var extra in new byte[][] { [0], [1], [0xff], [0, 0, 0, 0] })
        {
            var e = AssertFails(serializer, [.. bytes, .. extra], manifest);
            Assert.Contains(manifest, e.Message);
            Assert.Contains("left over", e.Message);
        }
    }

    [Theory]
    [InlineData("cPush")]
    [InlineData("rCmp")]
    [InlineData("sQueue2")]
    [InlineData("eBatch")]
    [InlineData("nope")]
    public void A_batch_that_holds_anything_but_events_fails_with_a_serialization_exception(string inner)
    {
        var serializer = LindaFor(PeekReady.Instance);
        object message = inner switch
        {
            "cPush" => new Push("jobs", SimplePayload),
            "rCmp" => new Completed("1", null),
            "sQueue2" => new JobQueueSnapshot("jobs", T0, 1, 0, null, []),
            "eBatch" => new EventBatch([]),
            _ => new JobCompleted(T0, "1"),
        };
        var w = new Wire();
        w.Int(1);
        w.String(inner);
        var bytes = w.ToArray().Concat(serializer.ToBinary(message)).ToArray();
        var e = AssertFails(serializer, bytes, "eBatch");
        Assert.Contains($"'{inner}', which is not an event", e.Message);
    }

    [Fact]
    public void A_queue_envelope_takes_no_reply_that_names_an_actor()
    {
        var envelope = new QueueEnvelope("jobs", new Located(TestActor));
        var serializer = LindaFor(envelope);
        var e = Assert.Throws<ArgumentException>(() => serializer.ToBinary(envelope));
        Assert.Contains("can't put Linda.JobQueue+Located in a queue envelope", e.Message);
    }

    [Theory]
    [InlineData("rLoc", "a queue envelope can't hold a 'rLoc'")]
    [InlineData("nope", "a queue envelope holds an unknown manifest 'nope'")]
    public void A_queue_envelope_that_holds_no_queue_message_fails_with_a_serialization_exception(string inner, string error)
    {
        var serializer = LindaFor(PeekReady.Instance);
        var w = new Wire();
        w.String("jobs");
        w.String(inner);
        w.String("akka://serializer-spec/user/x");
        var e = AssertFails(serializer, w.ToArray(), "cEnv");
        Assert.Contains(error, e.Message);
    }

    [Theory]
    [InlineData("")]
    [InlineData("nope")]
    [InlineData("cpush")] // manifests are case-sensitive
    [InlineData("cPush ")]
    [InlineData("Linda.JobQueue+Push")]
    [InlineData("sQueue9")]
    public void An_unknown_manifest_fails_with_a_serialization_exception(string manifest)
    {
        var serializer = LindaFor(PeekReady.Instance);
        var bytes = serializer.ToBinary(new Push("jobs", SimplePayload));
        var e = AssertFails(serializer, bytes, manifest);
        Assert.Contains($"'{manifest}'", e.Message);
        Assert.Contains("no type for manifest", e.Message);
    }

    public static TheoryData<string> MessagesWithAState() =>
    [
        nameof(Pushed), nameof(Released), nameof(NoJob), nameof(NotReserved), nameof(NotKickable), nameof(JobView), nameof(JobQueueSnapshot),
    ];

    private static object WithState(string type, JobState state) => type switch
    {
        nameof(Pushed) => new Pushed("1", state),
        nameof(Released) => new Released("1", state),
        nameof(NoJob) => new NoJob(state),
        nameof(NotReserved) => new NotReserved("1", state),
        nameof(NotKickable) => new NotKickable("1", state),
        nameof(JobView) => new JobView(PlainJob, state, 1, 1, null, null, 0, 0, 0, 0, 0, 0, null),
        nameof(JobQueueSnapshot) => new JobQueueSnapshot("jobs", T0, 2, 0, null,
            [new JobSnapshot(PlainJob, 1, state, 1, null, T0, 0, null, null, 0, 0, 0, 0, 0, 0, 0, null)]),
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    [Theory]
    [MemberData(nameof(MessagesWithAState))]
    public void A_bad_job_state_byte_fails_with_a_serialization_exception(string type)
    {
        var serializer = LindaFor(PeekReady.Instance);
        foreach (var bad in new byte[] { 0, 5, 6, 0x7f, 0x80, 0xff })
        {
            // the writer copies the enum's byte as is, so an undefined state makes the malformed input
            var message = WithState(type, (JobState)bad);
            var manifest = serializer.Manifest(message);
            var e = AssertFails(serializer, serializer.ToBinary(message), manifest);
            Assert.Contains(manifest, e.Message);
            Assert.Contains($"bad job state {bad}", e.Message);
        }
        foreach (var good in Enum.GetValues<JobState>())
            AssertEquivalent(WithState(type, good), RoundTrip(WithState(type, good)));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(18)]
    [InlineData(-1)]
    [InlineData(int.MaxValue)]
    public void An_unknown_reject_reason_fails_with_a_serialization_exception(int reason)
    {
        var serializer = LindaFor(PeekReady.Instance);
        var e = AssertFails(serializer, serializer.ToBinary(new Rejected((RejectReason)reason, "x")), "rRej");
        Assert.Contains($"reject reason {reason}", e.Message);
    }

    [Fact]
    public void A_bad_presence_flag_fails_with_a_serialization_exception()
    {
        var serializer = LindaFor(PeekReady.Instance);
        foreach (var flag in new byte[] { 2, 0x80, 0xff })
        {
            var w = new Wire();
            w.String("1");
            w.Byte(flag); // NextRunAt's presence flag
            w.Long(T0.UtcTicks);
            var e = AssertFails(serializer, w.ToArray(), "rCmp");
            Assert.Contains($"bad boolean byte {flag}", e.Message);
        }
    }

    [Fact]
    public void An_unknown_payload_kind_fails_with_a_serialization_exception()
    {
        var serializer = LindaFor(PeekReady.Instance);
        var bytes = serializer.ToBinary(new Push("jobs", SimplePayload));
        Assert.Equal(5, bytes[0]); // "jobs" is 4 bytes, written as length + 1
        bytes[5] = 2; // the payload kind (0 JSON args, 1 raw)
        var e = AssertFails(serializer, bytes, "cPush");
        Assert.Contains("unknown payload kind 2", e.Message);
    }

    [Fact]
    public void A_required_string_that_is_null_fails_with_a_serialization_exception()
    {
        var serializer = LindaFor(PeekReady.Instance);
        var w = new Wire();
        w.String(null);
        var e = AssertFails(serializer, w.ToArray(), "rDel");
        Assert.Contains("a required string is null", e.Message);

        // an empty string is not null
        w = new Wire();
        w.String("");
        Assert.Equal(new Deleted(""), serializer.FromBinary(w.ToArray(), "rDel"));
    }

    [Fact]
    public void Times_out_of_range_fail_with_a_serialization_exception()
    {
        var serializer = LindaFor(PeekReady.Instance);
        foreach (var ticks in new[] { -1L, long.MinValue, DateTimeOffset.MaxValue.UtcTicks + 1, long.MaxValue })
        {
            var w = new Wire();
            w.Long(ticks);
            var e = AssertFails(serializer, w.ToArray(), "eRes");
            Assert.Contains($"time ticks {ticks} out of range", e.Message);
        }
    }

    [Fact]
    public void Numbers_out_of_range_fail_with_a_serialization_exception()
    {
        var serializer = LindaFor(PeekReady.Instance);

        var w = new Wire();
        w.VarLong((long)int.MaxValue + 1); // Kick's bound is an int
        AssertFails(serializer, w.ToArray(), "cKck");

        w = new Wire();
        w.VarLong((long)int.MinValue - 1);
        AssertFails(serializer, w.ToArray(), "cKck");

        w = new Wire(); // Bury with a priority over uint.MaxValue
        w.String("1");
        w.Long(1);
        w.String("reason");
        w.Bool(true);
        w.VarULong((ulong)uint.MaxValue + 1);
        AssertFails(serializer, w.ToArray(), "cBur");

        // a variable-length integer longer than ten bytes
        AssertFails(serializer, [.. Enumerable.Repeat((byte)0x80, 10), 0], "cKck");
        // a tenth byte that carries bits beyond the 64th
        AssertFails(serializer, [.. Enumerable.Repeat((byte)0xff, 9), 0x7f], "cRsv");
        AssertFails(serializer, [.. Enumerable.Repeat((byte)0x80, 9), 0x02], "cRsv");
        // the largest legal ten-byte value still reads
        Assert.Equal(new Reserve(TimeSpan.MinValue), serializer.FromBinary([.. Enumerable.Repeat((byte)0xff, 9), 0x01, 0x00, .. new byte[8]], "cRsv"));
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(2)]
    [InlineData(1_000_000)]
    [InlineData(0x7FFFFFC7)] // the largest array length
    [InlineData(int.MaxValue)]
    public void A_count_that_does_not_match_the_data_fails_with_a_serialization_exception(int count)
    {
        var serializer = LindaFor(PeekReady.Instance);

        var w = new Wire(); // JobsKicked with one id but another count
        w.Long(T0.UtcTicks);
        w.Int(count);
        w.String("1");
        AssertFails(serializer, w.ToArray(), "eKck");

        w = new Wire(); // QueueStats with one command but another count
        w.String("jobs");
        for (var i = 0; i < 6; i++)
            w.Int(0);
        w.VarLong(0);
        w.Bool(false);
        w.Int(count);
        w.String("push");
        w.VarLong(1);
        AssertFails(serializer, w.ToArray(), "rSta3");

        w = new Wire(); // a snapshot with no job but another count
        w.String("jobs");
        w.Long(T0.UtcTicks);
        w.VarLong(1);
        w.VarLong(0);
        w.Bool(false);
        w.Int(count);
        AssertFails(serializer, w.ToArray(), "sQueue1");
        AssertFails(serializer, w.ToArray(), "sQueue2");
        AssertFails(serializer, w.ToArray(), "sQueue3");

        w = new Wire(); // a string whose length is more than the data
        w.VarULong((ulong)(uint)count + 2);
        w.Byte((byte)'x');
        AssertFails(serializer, w.ToArray(), "rDel");
    }

    [Fact]
    public void A_command_counted_twice_in_the_stats_fails_with_a_serialization_exception()
    {
        var serializer = LindaFor(PeekReady.Instance);
        var w = new Wire();
        w.String("jobs");
        for (var i = 0; i < 6; i++)
            w.Int(0);
        w.VarLong(0);
        w.Bool(false);
        w.Int(2);
        w.String("push");
        w.VarLong(1);
        w.String("push");
        w.VarLong(2);
        var e = AssertFails(serializer, w.ToArray(), "rSta3");
        Assert.Contains("push", e.Message);
    }

    /// <summary>
    /// Any corruption of a valid message either fails with a SerializationException or decodes to some
    /// message that serializes again; nothing else escapes the serializer.
    /// </summary>
    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Corrupted_bytes_fail_with_a_serialization_exception_or_decode_to_a_valid_message(string name)
    {
        var message = Case(name);
        var serializer = LindaFor(message);
        var manifest = serializer.Manifest(message);
        var bytes = serializer.ToBinary(message);
        var random = new Random(name.Length * 7919 + bytes.Length);

        var positions = bytes.Length <= 2048 ? Enumerable.Range(0, bytes.Length) : Enumerable.Range(0, 256).Concat(Enumerable.Range(bytes.Length - 256, 256));
        foreach (var position in positions)
        {
            foreach (var value in new byte[] { 0, 1, 0x7f, 0x80, 0xff, (byte)(bytes[position] ^ 1), (byte)random.Next(256) })
            {
                var corrupt = (byte[])bytes.Clone();
                corrupt[position] = value;
                TryRead(serializer, corrupt, manifest);
            }
        }
        for (var i = 0; i < 200; i++)
        {
            var garbage = new byte[random.Next(0, 64)];
            random.NextBytes(garbage);
            TryRead(serializer, garbage, manifest);
        }
    }

    private static void TryRead(LindaSerializer serializer, byte[] bytes, string manifest)
    {
        object? decoded;
        try
        {
            decoded = serializer.FromBinary(bytes, manifest);
        }
        catch (SerializationException)
        {
            return;
        }
        catch (Exception e)
        {
            Assert.Fail($"'{manifest}' {Convert.ToHexString(bytes)} threw {e.GetType()}: {e.Message}");
            return;
        }
        Assert.NotNull(decoded);
        Assert.Equal(LindaSerializer.Manifests[manifest], decoded.GetType());
        serializer.ToBinary(decoded);
    }

    private static SerializationException AssertFails(LindaSerializer serializer, byte[] bytes, string manifest)
    {
        object? decoded = null;
        var e = Record.Exception(() => decoded = serializer.FromBinary(bytes, manifest));
        Assert.True(e is SerializationException,
            e is null
                ? $"'{manifest}' {Convert.ToHexString(bytes)} was read as {decoded}"
                : $"'{manifest}' {Convert.ToHexString(bytes)} threw {e.GetType()}, not SerializationException: {e}");
        Assert.StartsWith("LindaSerializer", e!.Message);
        return (SerializationException)e;
    }

    [Fact]
    public void Stats_views_and_lists_of_the_previous_formats_still_read()
    {
        var serializer = LindaFor(PeekReady.Instance);
        // rSta2 ended after JobTimeouts: rSta3 adds the lag and the failures (one zero byte each when zero).
        var stats = new QueueStats("jobs", 1, 0, 2, 0, 3, 0, 6, T0, new Dictionary<string, long> { ["push"] = 6 }, JobTimeouts: 4);
        var stats3 = serializer.ToBinary(stats);
        Assert.Equal([0, 0, 0], stats3[^3..]);
        AssertEquivalent(stats, serializer.FromBinary(stats3[..^3], "rSta2"));

        // rView2 ended after the delay: rView3 adds the holder, the cancel mark and the unique key (a zero byte each when none).
        var view = new JobView(FancyJob, JobState.Buried, 5, 2, null, null, 1, 1, 0, 1, 1, 0, "gave up", TimeSpan.FromSeconds(3));
        var view3 = serializer.ToBinary(view);
        Assert.Equal([0, 0, 0, 0, 0, 0, 0, 0, 0], view3[^9..]);
        var view2 = view3[..^9];
        AssertEquivalent(view, serializer.FromBinary(view2, "rView2"));

        // rList held rView2 views.
        var list = new JobList(JobState.Buried, [view], "5.2", 9);
        var list2 = serializer.ToBinary(list);
        var at = list2.AsSpan().IndexOf(view3);
        Assert.True(at > 0, "the view is in the list");
        byte[] list1 = [.. list2[..(at + view2.Length)], .. list2[(at + view3.Length)..]];
        AssertEquivalent(list, serializer.FromBinary(list1, "rList"));

        // sQueue4 had no cancel mark and unique key after each job, and no schedules or unique holds after
        // the jobs (a zero byte each when none).
        var snapshot = FullSnapshot() with { Jobs = [FullSnapshot().Jobs[^1]] };
        var snapshot5 = serializer.ToBinary(snapshot);
        Assert.Equal([0, 0, 0, 0, 0, 0, 0], snapshot5[^7..]);
        AssertEquivalent(snapshot, serializer.FromBinary(snapshot5[..^7], "sQueue4"));
    }

    private object RoundTrip(object message)
    {
        var serializer = LindaFor(message);
        return serializer.FromBinary(serializer.ToBinary(message), serializer.Manifest(message));
    }
}
