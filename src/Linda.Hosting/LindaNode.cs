using System.Collections.Concurrent;
using Akka.Actor;

namespace Linda.Hosting;

/// <summary>
/// What Linda runs on this node of the ActorSystem: its address of each queue (a route into the
/// queues' shard region, or a proxy to the queue's cluster singleton: see <see cref="LindaOptions.Placement"/>),
/// and the worker pools. <see cref="LindaClient"/> finds its queues here.
/// </summary>
public sealed class LindaNode : IExtension
{
    private readonly ConcurrentDictionary<string, IActorRef> _queues = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, IActorRef> _workerPools = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _workerCounts = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, IReadOnlyList<string>> _partitions = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, IActorRef> _partitionAddresses = new(StringComparer.Ordinal);

    /// <summary>This system's node.</summary>
    public static LindaNode Get(ActorSystem system) => system.WithExtension<LindaNode, LindaNodeProvider>();

    /// <summary>The queue names, each with this node's address of the queue (every message sent to it reaches the queue, with its sender).</summary>
    public IReadOnlyDictionary<string, IActorRef> Queues => _queues;

    /// <summary>The application's first queue: where a typed push goes when nothing names another.</summary>
    public string? DefaultQueue { get; private set; }

    /// <summary>The worker pools on this node, by queue.</summary>
    public IReadOnlyDictionary<string, IActorRef> WorkerPools => _workerPools;

    internal void AddQueue(string name, IActorRef address)
    {
        _queues[name] = address;
        DefaultQueue ??= name;
    }

    /// <summary>
    /// The partitioned queues, each with its partitions' names in order (<c>QUEUE~0</c> ..., see
    /// <see cref="QueuePartitions"/>); <see cref="Queues"/> has the queue itself (its router).
    /// </summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> Partitions => _partitions;

    /// <summary>This node's address of a queue or of one partition of a partitioned queue.</summary>
    public bool TryGetAddress(string name, out IActorRef address) =>
        _queues.TryGetValue(name, out address!) || _partitionAddresses.TryGetValue(name, out address!);

    internal void AddPartitions(string queue, IReadOnlyList<(string Name, IActorRef Address)> partitions)
    {
        foreach (var (name, address) in partitions)
            _partitionAddresses[name] = address;
        _partitions[queue] = partitions.Select(p => p.Name).ToArray();
    }

    /// <summary>How many workers each pool on this node has, by queue.</summary>
    public IReadOnlyDictionary<string, int> WorkerCounts => _workerCounts;

    /// <summary>What this node runs, as its <c>linda-node</c> actor answers <see cref="JobQueue.GetNodeInfo"/>.</summary>
    public JobQueue.NodeInfo Info(Address self) =>
        new(self.ToString(), _workerCounts.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => new JobQueue.NodeWorkers(p.Key, p.Value)).ToArray());

    internal void AddWorkerPool(string queue, IActorRef pool, int workers)
    {
        _workerPools[queue] = pool;
        _workerCounts[queue] = workers;
    }

    /// <summary>The name of the actor on every Linda node that answers <see cref="JobQueue.GetNodeInfo"/>.</summary>
    public const string ActorName = "linda-node";

    /// <summary>Answers <see cref="JobQueue.GetNodeInfo"/> for this node.</summary>
    internal sealed class InfoActor : ReceiveActor
    {
        public InfoActor(LindaNode node, Address self) =>
            Receive<JobQueue.GetNodeInfo>(_ => Sender.Tell(node.Info(self)));
    }

    private sealed class LindaNodeProvider : ExtensionIdProvider<LindaNode>
    {
        public override LindaNode CreateExtension(ExtendedActorSystem system) => new();
    }
}
