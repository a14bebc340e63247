using Akka.Actor;
using Linda.Hosting;
using Xunit;
using static Linda.JobQueue;

namespace Linda.Tests;

/// <summary>
/// The typed push's resend rule, against a client whose sends are scripted (the cluster spec crashes a
/// real node; here the moment an answer is lost is chosen): the id is made before the first send, a
/// send without an answer is sent again with it, and AlreadyExists for that id on a resend is success.
/// </summary>
public sealed class TypedPushSpec
{
    private sealed record Note(string Text);

    /// <summary>An <see cref="ILindaClient"/> whose queue answers each send as the script says (null: no answer in time).</summary>
    private sealed class ScriptedClient(params Func<Push, IReply?>[] script) : ILindaClient
    {
        public readonly List<Push> Sent = [];

        public IReadOnlyCollection<string> Queues => ["jobs"];

        public IActorRef Queue(string name) => ActorRefs.Nobody;

        public Task<IReply> SendAsync(string queue, ICommand command, CancellationToken cancellationToken = default)
        {
            var push = Assert.IsType<Push>(command);
            Sent.Add(push);
            return script[Sent.Count - 1](push) is { } reply
                ? Task.FromResult(reply)
                : Task.FromException<IReply>(new AskTimeoutException("no answer")); // lost with the queue's node
        }
    }

    [Fact]
    public async Task A_push_whose_answer_was_lost_is_sent_again_with_its_id_and_already_exists_for_that_id_is_its_success()
    {
        var client = new ScriptedClient(_ => null, p => new AlreadyExists(p.Id!));
        var result = await ((ILindaClient)client).TryPushAsync(new Note("hi"));
        Assert.True(result.Ok);
        Assert.Equal(2, client.Sent.Count);
        Assert.False(string.IsNullOrEmpty(client.Sent[0].Id));
        Assert.Equal(client.Sent[0].Id, client.Sent[1].Id); // the same id both times
        Assert.Equal(client.Sent[0].Id, result.JobId);
    }

    [Fact]
    public async Task Already_exists_on_the_first_send_or_for_another_job_is_a_refusal()
    {
        var first = new ScriptedClient(p => new AlreadyExists(p.Id!));
        Assert.Equal(new AlreadyExists("mine"), (await ((ILindaClient)first).TryPushAsync(new Note("hi"), new PushOptions { Id = "mine" })).Failure);

        var other = new ScriptedClient(_ => null, _ => new AlreadyExists("someone-else")); // a unique key taken by another job
        var result = await ((ILindaClient)other).TryPushAsync(new Note("hi"), new PushOptions { UniqueKey = "k" });
        Assert.False(result.Ok);
        Assert.Equal(new AlreadyExists("someone-else"), result.Failure);
        await Assert.ThrowsAsync<LindaRejectedException>(() => ((ILindaClient)new ScriptedClient(_ => new Rejected(RejectReason.InvalidDelay, "no"))).PushAsync(new Note("hi")));
    }

    [Fact]
    public async Task A_push_answered_at_once_is_sent_once_to_the_default_queue_with_its_class()
    {
        var client = new ScriptedClient(p => new Pushed(p.Id!, JobState.Ready));
        var id = await ((ILindaClient)client).PushAsync(new Note("hi"));
        var sent = Assert.Single(client.Sent);
        Assert.Equal((id, "jobs", "Note"), (sent.Id, sent.Queue, sent.Payload.Class));
    }
}
