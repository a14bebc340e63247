using System.Diagnostics;
using Akka.Actor;

namespace Linda.Beanstalk;

/// <summary>
/// How a connection talks to its tubes' queues: each command goes straight to the queue actor (located
/// once per tube, see <see cref="TubeCache"/>) with the connection's agent as its sender, and its reply
/// comes back through <see cref="InFlight"/>. <see cref="Ask"/> sends again while the queue moves
/// (<see cref="AskAgain"/>); a command whose outcome is unknown is never sent again.
/// </summary>
internal sealed class QueueLink(IActorRef agent, InFlight inFlight, TubeCache tubes, BeanstalkServerOptions options, AskAgain askAgain, CancellationToken stop)
{
    private readonly HashSet<IActorRef> _watchedQueues = [];

    /// <summary>How commands are sent again while a queue moves.</summary>
    public AskAgain AskAgain => askAgain;

    /// <summary>
    /// Sends <paramref name="command"/> to <paramref name="queue"/> now and returns its reply to come:
    /// <see cref="NoAnswer"/> once <see cref="BeanstalkServerOptions.AskTimeout"/> (and the command's own
    /// <paramref name="wait"/>) passed without one. Completed by the agent, whose thread then runs the
    /// connection on to its next await: one thread hop less per command than running continuations
    /// asynchronously (the agent has nothing else to do).
    /// </summary>
    public Task<JobQueue.IReply> Send(IActorRef queue, JobQueue.ICommand command, TimeSpan wait = default)
    {
        var reply = inFlight.Add(queue, Stopwatch.GetTimestamp() + (long)((options.AskTimeout + wait).TotalSeconds * Stopwatch.Frequency));
        if (_watchedQueues.Add(queue))
            agent.Tell(new ConnectionAgent.WatchQueue(queue));
        queue.Tell(command, agent);
        if (inFlight.IsGone(queue))
            inFlight.Gone(queue, nodeDied: false); // stopped before this one went out: nothing changed
        return reply;
    }

    /// <summary>
    /// Sends <paramref name="command"/> to <paramref name="tube"/>'s queue and waits (bounded). A queue
    /// that stopped or is moving to another node (Unavailable: nothing changed) is looked up again and
    /// asked again. No answer in time (null), or <see cref="OutcomeUnknown"/>, is returned as it is: the
    /// command may have been applied, so sending it again could apply it twice.
    /// </summary>
    public Task<JobQueue.IReply?> Ask(BeanstalkProtocol.Tube tube, JobQueue.ICommand command)
    {
        var first = true;
        return askAgain.AskAsync(async _ =>
        {
            if (!first)
            {
                tubes.Forget(tube.Name);
                try
                {
                    tube = await tubes.Get(tube.Name);
                }
                catch (Exception e) when (e is AskTimeoutException or TimeoutException)
                {
                    return new JobQueue.Unavailable("the tube hub is moving"); // keep trying until the deadline
                }
            }
            first = false;
            // A tube the hub could not start (it is stopping for a hand-over) is as good as Unavailable.
            return tube.Queue.IsNobody() ? new JobQueue.Unavailable("the tube hub is moving") : await WithTimeout(Send(tube.Queue, command));
        }, options.Time, stop);
    }

    /// <summary>The reply, or null when none came in time.</summary>
    public static async Task<JobQueue.IReply?> WithTimeout(Task<JobQueue.IReply> reply) => Answer(await reply);

    /// <summary>A reply as the commands take it: null for <see cref="NoAnswer"/>.</summary>
    public static JobQueue.IReply? Answer(JobQueue.IReply reply) => reply is NoAnswer ? null : reply;
}
