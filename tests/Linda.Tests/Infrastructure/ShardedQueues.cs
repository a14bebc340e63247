using Akka.Actor;
using Akka.Cluster.Sharding;
using Linda.Hosting.Placement;

namespace Linda.Tests.Infrastructure;

/// <summary>Where the sharded placement runs queues, read from the shard regions (which sends the queues nothing).</summary>
public static class ShardedQueues
{
    /// <summary>The queues whose entities run on <paramref name="node"/>: its region's state.</summary>
    public static async Task<IReadOnlySet<string>> ShardedQueuesAsync(this LindaHost node)
    {
        var region = ClusterSharding.Get(node.System).ShardRegion(QueueSharding.TypeName);
        var state = await region.Ask<CurrentShardRegionState>(GetShardRegionState.Instance, Conditions.Bound);
        return state.Shards.SelectMany(s => s.EntityIds).ToHashSet(StringComparer.Ordinal);
    }
}
