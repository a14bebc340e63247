using Akka.Actor;
using Linda.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;
using static Linda.JobQueue;

namespace Linda.Tests.Queue;

/// <summary>
/// <c>linda.queue.outcome-events = on</c>: the queue actor tells its node's EventStream of each job that
/// completes or is buried (<see cref="JobEnded"/>), once that is written, and of a burial that an
/// expired lease decided when its clock passes the deadline. Off (the default), it tells nothing.
/// </summary>
[Collection(DatabaseCollection.Name)]
public sealed class OutcomeEventsSpec(ITestOutputHelper output) : QueueSpec(output, new TempFolder(), "linda.queue.outcome-events = on")
{
    [Fact]
    public void A_completion_a_bury_and_a_lease_that_expired_with_no_retries_left_are_told_once_written()
    {
        var listener = CreateTestProbe();
        Sys.EventStream.Subscribe(listener.Ref, typeof(JobEnded));
        var q = StartQueue();
        foreach (var id in new[] { "done", "bad", "slow" })
            q.Tell(TestJobs.Push(id, ttr: TimeSpan.FromSeconds(30), maxRetries: 0, payload: TestJobs.Payload("work", id)));
        ReceiveN(3, Wait);

        q.Tell(new Reserve(TimeSpan.Zero));
        var done = ExpectMsg<Reserved>(Wait);
        q.Tell(new Complete(done.Job.Id, done.Token));
        ExpectMsg<Completed>(Wait); // the reply goes out from the write's callback, and then the event
        Assert.Equal(new JobEnded("jobs", "done", "work", JobOutcome.Completed, null, Clock.GetUtcNow(), 1), listener.ExpectMsg<JobEnded>(Wait));

        q.Tell(new Reserve(TimeSpan.Zero));
        var bad = ExpectMsg<Reserved>(Wait);
        q.Tell(new Bury(bad.Job.Id, bad.Token, "poison"));
        ExpectMsg<Buried>(Wait);
        var buried = listener.ExpectMsg<JobEnded>(Wait);
        Assert.Equal(("bad", JobOutcome.Buried, "poison"), (buried.JobId, buried.Outcome, buried.Reason));

        q.Tell(new Reserve(TimeSpan.Zero));
        ExpectMsg<Reserved>(Wait);
        Clock.Advance(TimeSpan.FromSeconds(30)); // the lease's deadline: nothing is written for it
        var expired = listener.ExpectMsg<JobEnded>(Wait);
        Assert.Equal(("slow", JobOutcome.Buried), (expired.JobId, expired.Outcome));
        Assert.StartsWith("lease expired after 30 s; attempt 1 of 1", expired.Reason);
        listener.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public void Off_by_default_nothing_is_told()
    {
        var listener = CreateTestProbe();
        Sys.EventStream.Subscribe(listener.Ref, typeof(JobEnded));
        var q = StartQueue("quiet", Settings with { OutcomeEvents = false });
        q.Tell(TestJobs.Push("a", queue: "quiet"));
        ExpectMsg<Pushed>(Wait);
        q.Tell(new Reserve(TimeSpan.Zero));
        var a = ExpectMsg<Reserved>(Wait);
        q.Tell(new Complete("a", a.Token));
        ExpectMsg<Completed>(Wait);
        listener.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
        Assert.False(LindaSettings.DefaultConfig.GetBoolean("linda.queue.outcome-events")); // the reference config's default
    }
}
