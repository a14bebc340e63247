using Akka.Actor;
using Akka.Cluster.Sharding;

namespace Linda.Hosting.Placement;

/// <summary>
/// The queues' shard region (<see cref="QueuePlacement.Sharded"/>): one entity type, <see cref="TypeName"/>,
/// whose entities are queue supervisors (<see cref="JobQueueActor.Props"/>) named by their queues. Its
/// settings are <c>linda.sharding</c> over <c>akka.cluster.sharding</c>, so an application's own sharded
/// types keep Akka's defaults. A region hands a queue over (to a node that joins, or when its own node
/// leaves) with <see cref="JobQueueActor.StopGracefully"/>: the queue finishes its pending writes and
/// stops, and only then does it start on the other node.
/// </summary>
internal static class QueueSharding
{
    /// <summary>The entity type: the region is <c>/system/sharding/linda-queue</c> on every node.</summary>
    public const string TypeName = "linda-queue";

    /// <summary>
    /// Starts the region on this node: hosting queues when the node has <paramref name="role"/> (or
    /// <paramref name="role"/> is null), a proxy to the others otherwise.
    /// </summary>
    public static IActorRef Start(ActorSystem system, LindaSettings settings, string? role)
    {
        var sharding = ClusterSharding.Get(system);
        var shardingSettings = Settings(system, settings, role);
        return sharding.Start(
            TypeName,
            queue => JobQueueActor.Props(queue, settings),
            shardingSettings,
            QueueMessageExtractor.Instance,
            sharding.DefaultShardAllocationStrategy(shardingSettings),
            JobQueueActor.StopGracefully.Instance);
    }

    /// <summary>The region's settings: <c>linda.sharding</c> over <c>akka.cluster.sharding</c>, the queue role, Linda's journal.</summary>
    public static ClusterShardingSettings Settings(ActorSystem system, LindaSettings settings, string? role)
    {
        ClusterSharding.Get(system); // loads Akka.Cluster.Sharding's reference config
        var config = system.Settings.Config;
        var own = config.GetConfig("linda.sharding")
            .WithFallback(LindaSettings.DefaultConfig.GetConfig("linda.sharding"))
            .WithFallback(config.GetConfig("akka.cluster.sharding"));
        var result = ClusterShardingSettings.Create(own, config.GetConfig(own.GetString("coordinator-singleton"))).WithRole(role);
        // Remembered queues go to the queues' own journal and snapshot store.
        if (settings.JournalPluginId is { } journal)
            result = result.WithJournalPluginId(journal);
        if (settings.SnapshotPluginId is { } snapshots)
            result = result.WithSnapshotPluginId(snapshots);
        return result;
    }
}
