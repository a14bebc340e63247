using System.Collections.Concurrent;
using System.Diagnostics;
using Akka.Actor;

namespace Linda.Beanstalk;

/// <summary>
/// A connection's replies in flight: per queue actor, the commands sent to it and not yet answered, in
/// order. A queue answers one sender's commands in the order it took them, so the first reply from a
/// queue actor answers the oldest command sent to it. Shared by a connection's
/// <see cref="QueueLink"/> (which adds) and its <see cref="ConnectionAgent"/> (which completes).
/// </summary>
internal sealed class InFlight
{
    /// <summary>A command waiting for its reply, until its deadline (Stopwatch ticks).</summary>
    private sealed class Pending(long deadline) : TaskCompletionSource<JobQueue.IReply>
    {
        public readonly long Deadline = deadline;
    }

    private readonly ConcurrentDictionary<IActorRef, ConcurrentQueue<Pending>> _byQueue = new();
    private readonly ConcurrentDictionary<IActorRef, byte> _gone = new();

    /// <summary>A command sent to <paramref name="queue"/> waits for its reply, at most until <paramref name="deadline"/> (<see cref="Stopwatch"/> ticks).</summary>
    public Task<JobQueue.IReply> Add(IActorRef queue, long deadline)
    {
        var pending = new Pending(deadline);
        _byQueue.GetOrAdd(queue, _ => new()).Enqueue(pending);
        return pending.Task;
    }

    /// <summary>Hands <paramref name="reply"/> from queue actor <paramref name="queue"/> to the oldest command waiting for it.</summary>
    public bool Complete(IActorRef queue, JobQueue.IReply reply)
    {
        if (!_byQueue.TryGetValue(queue, out var pending) || !pending.TryDequeue(out var waiting))
            return false;
        waiting.TrySetResult(reply);
        return true;
    }

    /// <summary>
    /// Answers <see cref="NoAnswer"/> to the commands whose deadline passed at <paramref name="now"/>. They stay in
    /// line: a reply that comes after all is still matched to them, not to the command after them.
    /// </summary>
    public void Expire(long now)
    {
        foreach (var pending in _byQueue.Values)
        {
            foreach (var waiting in pending)
            {
                if (waiting.Deadline <= now)
                    waiting.TrySetResult(NoAnswer.Instance);
            }
        }
    }

    /// <summary>True once the queue actor has stopped: its tube must be looked up again.</summary>
    public bool IsGone(IActorRef queue) => _gone.ContainsKey(queue);

    /// <summary>
    /// The queue stopped: every command still waiting for it is answered. A queue that stopped on its
    /// own (a hand-over, a failed write) answered every command it took; the others were never taken,
    /// so they get <see cref="JobQueue.Unavailable"/> (nothing changed; send again). When its node died
    /// (<paramref name="nodeDied"/>), a command may have been written without its answer getting out:
    /// <see cref="OutcomeUnknown"/>, never sent again on the client's behalf.
    /// </summary>
    public void Gone(IActorRef queue, bool nodeDied)
    {
        _gone[queue] = 0;
        if (!_byQueue.TryGetValue(queue, out var pending))
            return;
        JobQueue.IReply answer = nodeDied
            ? new OutcomeUnknown("the tube's node died before answering: the command may or may not have been applied")
            : new JobQueue.Unavailable("the tube's queue stopped before taking the command; nothing changed");
        while (pending.TryDequeue(out var reply))
            reply.TrySetResult(answer);
    }
}

/// <summary>No reply came in time: the command may or may not have been applied.</summary>
internal sealed record NoAnswer : JobQueue.IReply
{
    public static readonly NoAnswer Instance = new();
}

/// <summary>The queue's node died with the command in flight: it may or may not have been applied.</summary>
internal sealed record OutcomeUnknown(string Message) : JobQueue.IReply;

/// <summary>
/// A connection's actor, and nothing more than that: the sender of its commands, so the lease holder
/// the queues watch (when the connection closes the agent stops and the queues put its jobs back in
/// Ready at once), and the receiver of their replies, which it hands to the waiting command through
/// <see cref="InFlight"/>: the connection's code then runs on in the agent's thread.
/// </summary>
internal sealed class ConnectionAgent : UntypedActor
{
    /// <summary>Watch this queue actor: if it stops, its commands in flight are answered.</summary>
    public sealed record WatchQueue(IActorRef Queue);

    private readonly InFlight _inFlight;

    public ConnectionAgent(InFlight inFlight) => _inFlight = inFlight;

    public static Props Props(InFlight inFlight) => Akka.Actor.Props.Create(() => new ConnectionAgent(inFlight));

    protected override void OnReceive(object message)
    {
        switch (message)
        {
            case JobQueue.IReply reply:
                if (!_inFlight.Complete(Sender, reply) && reply is JobQueue.Reserved orphan)
                    // No command waits for it (it can't happen while the connection keeps to one reply per
                    // command): give the job back rather than hold it until its deadline. Sent without a
                    // sender, so its answer can't be taken for the answer to a later command.
                    Sender.Tell(new JobQueue.Release(orphan.Job.Id, orphan.Token), ActorRefs.NoSender);
                break;
            case WatchQueue w:
                Context.Watch(w.Queue);
                break;
            case Terminated t:
                _inFlight.Gone(t.ActorRef, t.AddressTerminated);
                break;
            default:
                Unhandled(message);
                break;
        }
    }
}
