using Akka.Cluster.Sharding;
using static Linda.JobQueue;

namespace Linda.Hosting.Placement;

/// <summary>
/// How the queues' shard region routes: a <see cref="QueueEnvelope"/> goes to the entity named by its
/// queue, which receives the message inside; each queue is a shard of its own (shard id = entity id =
/// the queue's name), so the coordinator places, moves and hands over queues one by one. Sharding's own
/// <see cref="ShardRegion.StartEntity"/> (remembered entities, and the wake-up at start) the region
/// handles itself, with <see cref="ShardId(string, object)"/>.
/// </summary>
internal sealed class QueueMessageExtractor : IMessageExtractor
{
    public static readonly QueueMessageExtractor Instance = new();

    public string? EntityId(object message) => (message as QueueEnvelope)?.Queue;

    public object? EntityMessage(object message) => message is QueueEnvelope e ? e.Message : message;

    public string? ShardId(object message) => EntityId(message);

    public string ShardId(string entityId, object? messageHint = null) => entityId;
}
