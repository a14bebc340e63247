using System.Collections.Concurrent;
using Akka.Actor;

namespace Linda.Hosting;

/// <summary>
/// What Linda runs on this node of the ActorSystem: a proxy to each queue's cluster singleton, and
/// the worker pools. <see cref="LindaClient"/> finds its queues here.
/// </summary>
public sealed class LindaNode : IExtension
{
    private readonly ConcurrentDictionary<string, IActorRef> _queues = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, IActorRef> _workerPools = new(StringComparer.Ordinal);

    /// <summary>This system's node.</summary>
    public static LindaNode Get(ActorSystem system) => system.WithExtension<LindaNode, LindaNodeProvider>();

    /// <summary>The queue names, each with the proxy to its singleton.</summary>
    public IReadOnlyDictionary<string, IActorRef> Queues => _queues;

    /// <summary>The worker pools on this node, by queue.</summary>
    public IReadOnlyDictionary<string, IActorRef> WorkerPools => _workerPools;

    internal void AddQueue(string name, IActorRef proxy) => _queues[name] = proxy;

    internal void AddWorkerPool(string queue, IActorRef pool) => _workerPools[queue] = pool;

    private sealed class LindaNodeProvider : ExtensionIdProvider<LindaNode>
    {
        public override LindaNode CreateExtension(ExtendedActorSystem system) => new();
    }
}
