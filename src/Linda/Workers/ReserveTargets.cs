using Akka.Actor;

namespace Linda.Workers;

/// <summary>
/// Hands each worker of a pool its own start among a partitioned queue's partitions, so a node's
/// workers wait on different partitions (see <see cref="ReserveTargets"/>). One per pool.
/// </summary>
public sealed class PartitionSpread
{
    private int _next = -1;

    /// <summary>The next worker's start: 0, 1, 2, ...</summary>
    public int Take() => Interlocked.Increment(ref _next);
}

/// <summary>
/// Where a worker's reserves go. A queue of one actor: always to it, each reserve a long poll. A
/// partitioned queue (<see cref="QueuePartitions"/>): to the partition the last job came from, answered
/// at once; when that one has none, to the next, its own node's partitions first; when a whole round
/// found none, a wait of <see cref="WorkerSettings.PartitionPoll"/> on the worker's home partition (the
/// pool's workers have different homes), then round again. So a worker never idles longer than that
/// while any partition has a ready job, and busy partitions keep their workers.
/// </summary>
internal sealed class ReserveTargets
{
    private readonly Target[] _targets;
    private readonly int _spread;
    private int _current;
    private int _misses;

    public ReserveTargets(IReadOnlyList<IActorRef> addresses, int spread)
    {
        if (addresses.Count == 0)
            throw new ArgumentException("a worker needs a queue", nameof(addresses));
        _targets = addresses.Select((a, i) => new Target(a, i)).ToArray();
        _spread = spread;
        _current = spread % _targets.Length;
    }

    /// <summary>One queue actor, or one partition, and where commands for it go now.</summary>
    internal sealed class Target(IActorRef address, int index)
    {
        /// <summary>The address the worker was given (a route into the shard region, a proxy).</summary>
        public IActorRef Address { get; } = address;

        /// <summary>The partition's index (0 for a queue of one actor).</summary>
        public int Index { get; } = index;

        /// <summary>The queue actor itself once it answered, else null.</summary>
        public IActorRef? Actor { get; private set; }

        /// <summary>True once its actor answered from this node.</summary>
        public bool Local { get; private set; }

        // Read by verdicts sent again from outside the actor, hence volatile.
        private volatile IActorRef _route = address;

        /// <summary>Where commands go: the actor once known, else the address.</summary>
        public IActorRef Route => _route;

        /// <summary>The actor that answered; returns false when it was already known.</summary>
        public bool Learn(IActorRef actor)
        {
            if (actor.Equals(Actor) || actor.IsNobody())
                return false;
            Actor = actor;
            Local = actor.Path.Address.HasLocalScope;
            _route = actor;
            return true;
        }

        /// <summary>Its actor went away: back to the address, which finds the next one.</summary>
        public void Forget()
        {
            Actor = null;
            _route = Address;
        }
    }

    /// <summary>True for a partitioned queue.</summary>
    public bool Partitioned => _targets.Length > 1;

    /// <summary>Every target.</summary>
    public IReadOnlyList<Target> All => _targets;

    /// <summary>
    /// Where the next reserve goes and how long it waits: for one actor, <paramref name="settings"/>'s
    /// reserve wait; for partitions, none (the answer comes at once), or after a round without a job the
    /// partition poll on the worker's home.
    /// </summary>
    public (Target Target, TimeSpan Wait) Next(WorkerSettings settings)
    {
        if (!Partitioned)
            return (_targets[0], settings.ReserveWait);
        if (_misses < _targets.Length)
            return (_targets[_current], TimeSpan.Zero);
        _misses = 0;
        _current = Home();
        return (_targets[_current], settings.PartitionPoll);
    }

    /// <summary>A reserve to <paramref name="target"/> got a job: the next goes there again.</summary>
    public void Got(Target target)
    {
        _misses = 0;
        _current = target.Index;
    }

    /// <summary>A reserve to <paramref name="target"/> found no job: the next goes to the one after it.</summary>
    public void Missed(Target target)
    {
        if (!Partitioned)
            return;
        _misses++;
        var order = Order();
        _current = order[(Array.IndexOf(order, target.Index) + 1) % order.Length];
    }

    /// <summary>The target whose actor is <paramref name="actor"/>, or null.</summary>
    public Target? ByActor(IActorRef actor) => _targets.FirstOrDefault(t => actor.Equals(t.Actor));

    /// <summary>The target a job came from, by its queue's name (a partition's names its index).</summary>
    public Target ByQueue(string queue) =>
        Partitioned && QueuePartitions.TryParse(queue, out _, out var index) && index < _targets.Length ? _targets[index] : _targets[0];

    // The scan order: this node's partitions first, then the others, each in index order.
    private int[] Order() => _targets.OrderBy(t => t.Local ? 0 : 1).ThenBy(t => t.Index).Select(t => t.Index).ToArray();

    // The worker's home: its spread among this node's partitions, or among all while none is known to be here.
    private int Home()
    {
        var local = _targets.Where(t => t.Local).Select(t => t.Index).ToArray();
        return local.Length > 0 ? local[_spread % local.Length] : _spread % _targets.Length;
    }
}
