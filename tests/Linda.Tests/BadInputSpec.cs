using Akka.Actor;
using Linda.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;
using static Linda.JobQueue;

namespace Linda.Tests;

/// <summary>
/// Every kind of bad input gets a typed refusal from the queue actor, changes nothing, loses nothing,
/// and the queue goes on serving.
/// </summary>
[Collection(DatabaseCollection.Name)]
public sealed class BadInputSpec(ITestOutputHelper output)
    : QueueSpec(output, new TempFolder(), "linda.queue.max-payload-bytes = 1024")
{
    private static readonly JobPayload Ok = JobPayload.Create("work", 1);

    public static TheoryData<string, Push, RejectReason> BadPushes => new()
    {
        { "empty id", new Push("jobs", Ok) { Id = "" }, RejectReason.InvalidJobId },
        { "over-long id", new Push("jobs", Ok) { Id = new string('a', 201) }, RejectReason.InvalidJobId },
        { "id with a space", new Push("jobs", Ok) { Id = "a b" }, RejectReason.InvalidJobId },
        { "id with a newline", new Push("jobs", Ok) { Id = "a\r\nb" }, RejectReason.InvalidJobId },
        { "id starting with a hyphen", new Push("jobs", Ok) { Id = "-a" }, RejectReason.InvalidJobId },
        { "id of digits only", new Push("jobs", Ok) { Id = "12" }, RejectReason.InvalidJobId },
        { "empty queue name", new Push("", Ok), RejectReason.InvalidQueueName },
        { "over-long queue name", new Push(new string('q', 201), Ok), RejectReason.InvalidQueueName },
        { "queue name with a bad character", new Push("jobs!", Ok), RejectReason.InvalidQueueName },
        { "another queue's push", new Push("other", Ok), RejectReason.WrongQueue },
        { "empty class", new Push("jobs", JobPayload.Create("")), RejectReason.InvalidClass },
        { "payload over the limit", new Push("jobs", JobPayload.Create("work", new string('x', 1100))), RejectReason.PayloadTooLarge },
        { "negative delay", new Push("jobs", Ok) { Delay = TimeSpan.FromSeconds(-1) }, RejectReason.InvalidDelay },
        { "absurd delay", new Push("jobs", Ok) { Delay = TimeSpan.FromDays(40000) }, RejectReason.InvalidDelay },
        { "zero time-to-run", new Push("jobs", Ok) { TimeToRun = TimeSpan.Zero }, RejectReason.InvalidTimeToRun },
        { "negative time-to-run", new Push("jobs", Ok) { TimeToRun = TimeSpan.FromSeconds(-5) }, RejectReason.InvalidTimeToRun },
        { "absurd time-to-run", new Push("jobs", Ok) { TimeToRun = TimeSpan.FromDays(400) }, RejectReason.InvalidTimeToRun },
        { "period under the minimum", new Push("jobs", Ok) { Period = TimeSpan.FromMilliseconds(10) }, RejectReason.InvalidPeriod },
    };

    [Theory]
    [MemberData(nameof(BadPushes))]
    public void A_bad_push_is_rejected_with_its_reason_and_changes_nothing(string why, Push push, RejectReason reason)
    {
        var q = StartQueue();
        q.Tell(new Push("jobs", Ok) { Id = "kept" });
        ExpectMsg<Pushed>();

        q.Tell(push);
        var rejected = ExpectMsg<Rejected>();
        Assert.Equal(reason, rejected.Reason);
        Assert.False(string.IsNullOrWhiteSpace(rejected.Message), why);

        AssertUnchangedAndServing(q);
    }

    public static TheoryData<string, ICommand, IFailure> UnknownJobCommands => new()
    {
        { "complete", new Complete("ghost", 1), new NotFound("ghost") },
        { "release", new Release("ghost", 1), new NotFound("ghost") },
        { "bury", new Bury("ghost", 1, "x"), new NotFound("ghost") },
        { "touch", new Touch("ghost", 1), new NotFound("ghost") },
        { "delete", new Delete("ghost"), new NotFound("ghost") },
        { "kick-job", new KickJob("ghost"), new NotFound("ghost") },
        { "peek", new Peek("ghost"), new NotFound("ghost") },
        { "get-job", new GetJob("ghost"), new NotFound("ghost") },
        { "complete of a ready job", new Complete("kept", 1), new NotReserved("kept", JobState.Ready) },
        { "release of a ready job", new Release("kept", 1), new NotReserved("kept", JobState.Ready) },
        { "bury of a ready job", new Bury("kept", 1, "x"), new NotReserved("kept", JobState.Ready) },
        { "touch of a ready job", new Touch("kept", 1), new NotReserved("kept", JobState.Ready) },
        { "kick of a ready job", new KickJob("kept"), new NotKickable("kept", JobState.Ready) },
    };

    [Theory]
    [MemberData(nameof(UnknownJobCommands))]
    public void A_command_for_an_unknown_or_unfit_job_gets_a_typed_refusal(string why, ICommand command, IFailure expected)
    {
        var q = StartQueue();
        q.Tell(new Push("jobs", Ok) { Id = "kept" });
        ExpectMsg<Pushed>();

        q.Tell(command);
        Assert.Equal(expected, ExpectMsg<IFailure>());
        Assert.NotEmpty(expected.Message + why);

        AssertUnchangedAndServing(q);
    }

    public static TheoryData<string, ICommand, RejectReason> BadArguments => new()
    {
        { "reserve with a negative wait", new Reserve(TimeSpan.FromSeconds(-1)), RejectReason.InvalidWait },
        { "reserve with an absurd wait", new Reserve(TimeSpan.FromDays(40000)), RejectReason.InvalidWait },
        { "kick with a negative bound", new Kick(-1), RejectReason.InvalidBound },
        { "pause with a negative duration", new Pause(TimeSpan.FromSeconds(-1)), RejectReason.InvalidDuration },
    };

    [Theory]
    [MemberData(nameof(BadArguments))]
    public void A_command_with_a_bad_argument_is_rejected(string why, ICommand command, RejectReason reason)
    {
        var q = StartQueue();
        q.Tell(new Push("jobs", Ok) { Id = "kept" });
        ExpectMsg<Pushed>();

        q.Tell(command);
        Assert.Equal(reason, ExpectMsg<Rejected>().Reason);
        Assert.NotEmpty(why);

        AssertUnchangedAndServing(q);
    }

    [Fact]
    public void Lease_commands_with_bad_input_are_rejected_and_keep_the_lease()
    {
        var q = StartQueue();
        q.Tell(new Push("jobs", Ok) { Id = "kept" });
        ExpectMsg<Pushed>();
        q.Tell(new Reserve(TimeSpan.Zero));
        var r = ExpectMsg<Reserved>();

        q.Tell(new Release("kept", r.Token) { Delay = TimeSpan.FromSeconds(-3) });
        Assert.Equal(RejectReason.InvalidDelay, ExpectMsg<Rejected>().Reason);
        q.Tell(new Release("kept", r.Token) { Error = new string('e', 5000) });
        Assert.Equal(RejectReason.InvalidText, ExpectMsg<Rejected>().Reason);
        q.Tell(new Bury("kept", r.Token, new string('r', 5000)));
        Assert.Equal(RejectReason.InvalidText, ExpectMsg<Rejected>().Reason);

        q.Tell(new GetJob("kept"));
        var view = ExpectMsg<JobView>();
        Assert.Equal((JobState.Reserved, 0, 0), (view.State, view.Releases, view.Buries));
        q.Tell(new Complete("kept", r.Token));
        ExpectMsg<Completed>();
    }

    [Fact]
    public void A_reserve_without_a_sender_is_rejected()
    {
        var q = StartQueue();
        q.Tell(new Push("jobs", Ok) { Id = "kept" });
        ExpectMsg<Pushed>();
        q.Tell(new Reserve(TimeSpan.Zero), ActorRefs.NoSender);
        q.Tell(new GetJob("kept"));
        Assert.Equal(JobState.Ready, ExpectMsg<JobView>().State);
    }

    [Fact]
    public void An_invalid_queue_name_is_refused_when_the_queue_is_created()
    {
        var e = Assert.Throws<ArgumentException>(() => JobQueueActor.Props("bad name", Settings));
        Assert.Contains("queue name", e.Message);
        Assert.Throws<ArgumentException>(() => JobQueueActor.Props("", Settings));
        Assert.Throws<ArgumentException>(() => JobQueueActor.Props(new string('q', 201), Settings));
    }

    [Fact]
    public void Payload_args_that_are_not_a_json_array_are_refused_when_the_payload_is_made()
    {
        Assert.Throws<ArgumentException>(() => JobPayload.FromJson("work", "{\"a\":1}"));
        Assert.Throws<ArgumentException>(() => JobPayload.FromJson("work", "[1, 2"));
        Assert.Throws<ArgumentException>(() => JobPayload.FromJson("work", "[1] [2]"));
        Assert.Equal("[1,\"x\"]", JobPayload.FromJson("work", "[1,\"x\"]").ArgsJson);
    }

    /// <summary>Only the job "kept" is in the queue, and a valid push still works.</summary>
    private void AssertUnchangedAndServing(IActorRef q)
    {
        q.Tell(GetStats.Instance);
        var stats = ExpectMsg<QueueStats>();
        Assert.Equal((1, 1L), (stats.Jobs, stats.TotalJobs));
        q.Tell(new GetJob("kept"));
        Assert.Equal(JobState.Ready, ExpectMsg<JobView>().State);
        q.Tell(new Push("jobs", Ok) { Id = "after" });
        ExpectMsg(new Pushed("after", JobState.Ready) { Seq = 2 });
    }
}
