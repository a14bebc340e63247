using Akka.Actor;
using Linda.Hosting.Placement;

namespace Linda.Hosting;

/// <summary>
/// The queues' shard region of the sharded placement (<see cref="QueuePlacement.Sharded"/>, the region
/// <c>/system/sharding/linda-queue</c> that <see cref="LindaHostingExtensions.WithLinda"/> starts) for a host
/// whose queues are not known when it starts, as the beanstalkd server makes a queue per tube: start
/// the region on every node, then reach any queue, by name, through a <see cref="Route"/>. A queue is
/// an entity named by its queue (persistence id <c>linda-queue-NAME</c>, as on the singleton
/// placement), started on first use on the node of the queue role with the fewest queues, remembered,
/// moved and handed over as <see cref="LindaHostingExtensions.WithLinda"/>'s queues are (see README,
/// "Running a cluster").
/// </summary>
public static class QueueRegion
{
    /// <summary>The region's entity type: <c>linda-queue</c>, the same on every node.</summary>
    public const string TypeName = QueueSharding.TypeName;

    /// <summary>
    /// Starts the region on this node, its queues' actors made with <paramref name="settings"/>: hosting
    /// queues when the node has <paramref name="role"/> (or <paramref name="role"/> is null), a proxy
    /// to the others otherwise. Its settings are <c>linda.sharding</c> over <c>akka.cluster.sharding</c>.
    /// Where the region already runs (started by <c>WithLinda</c>, or before), returns it as it is: its
    /// queues keep the settings it was first started with.
    /// </summary>
    public static IActorRef Start(ActorSystem system, LindaSettings settings, string? role = null) =>
        QueueSharding.Start(system, settings, role);

    /// <summary>
    /// Props of this node's address of queue <paramref name="queue"/>: an actor that sends every queue
    /// message it gets (<see cref="JobQueue.IQueueMessage"/>) to the queue through <paramref name="region"/>,
    /// wherever the queue runs, with the sender kept (replies and leases go to it). At start it asks the
    /// region to start the queue, so a queue with delayed jobs or schedules runs with nothing sent to it.
    /// </summary>
    /// <exception cref="ArgumentException">The queue name is not valid (see <see cref="Names"/>).</exception>
    public static Props Route(string queue, IActorRef region) =>
        Names.Check(queue, "queue name") is { } invalid
            ? throw new ArgumentException(invalid, nameof(queue))
            : QueueRoute.Props(queue, region);
}
