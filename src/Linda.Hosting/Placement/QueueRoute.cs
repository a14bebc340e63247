using Akka.Actor;
using Akka.Cluster.Sharding;
using static Linda.JobQueue;

namespace Linda.Hosting.Placement;

/// <summary>
/// A node's address of one sharded queue (what the singleton placement's proxy is): every message it
/// gets goes to the queues' shard region in a <see cref="QueueEnvelope"/> naming the queue, with its
/// sender kept, so replies and leases go to the original sender. At start it asks the region to start
/// the queue (<see cref="ShardRegion.StartEntity"/>, again until the region acknowledges), so a queue whose
/// journal holds delayed jobs or schedules runs with no command sent to it, even when no node has
/// started it under sharding before (a cluster that ran the singleton placement).
/// </summary>
internal sealed class QueueRoute : UntypedActor
{
    /// <summary>How often the start is asked again until the region acknowledges it (while the cluster forms).</summary>
    internal static readonly TimeSpan WakeRetry = TimeSpan.FromSeconds(1);

    private readonly string _queue;
    private readonly IActorRef _region;

    public QueueRoute(string queue, IActorRef region)
    {
        _queue = queue;
        _region = region;
    }

    public static Props Props(string queue, IActorRef region) => Akka.Actor.Props.Create(() => new QueueRoute(queue, region));

    protected override void PreStart() => Wake();

    protected override void OnReceive(object message)
    {
        switch (message)
        {
            case IQueueMessage m:
                _region.Tell(new QueueEnvelope(_queue, m), Sender);
                break;
            case Woken:
                break;
            case WakeAgain:
                Wake();
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    // The region acknowledges a start (its StartEntityAck) once the queue's shard runs the queue.
    private void Wake() =>
        _region.Ask<object>(new ShardRegion.StartEntity(_queue), WakeRetry)
            .PipeTo(Self, success: _ => Woken.Instance, failure: _ => WakeAgain.Instance);

    private sealed class Woken
    {
        public static readonly Woken Instance = new();
    }

    private sealed class WakeAgain
    {
        public static readonly WakeAgain Instance = new();
    }
}
