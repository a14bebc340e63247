using Akka.Actor;
using Akka.Cluster;

namespace Linda;

/// <summary>
/// The actors that hold leases or wait for one, by actor: each is watched (DeathWatch), so the queue
/// learns when one dies and its leases end at once. Also the holders a queue recovered from its
/// journal, and the cluster's view of whose node is gone.
/// </summary>
internal sealed class LeaseHolders
{
    /// <summary>What the queue knows of one holder.</summary>
    internal sealed class Holder(string path)
    {
        /// <summary>The holder's actor path as the journal stores it.</summary>
        public readonly string Path = path;

        /// <summary>The highest <see cref="JobQueue.Reserve.Pull"/> seen from this holder.</summary>
        public long LastPull;

        /// <summary>For leases handed out in this run of the queue: the reserve number each answered.</summary>
        public readonly Dictionary<string, long> Pulls = new(StringComparer.Ordinal);
    }

    // Idle holders are unwatched only once this many are known (then whenever the set has doubled), so a
    // pool of workers that reserve again and again is not unwatched and watched again per job.
    private const int SweepAtLeast = 1024;

    private readonly IActorContext _context;
    private readonly Cluster? _cluster;
    private readonly Dictionary<IActorRef, Holder> _holders = new();
    private int _sweepAt = SweepAtLeast;

    public LeaseHolders(IActorContext context)
    {
        _context = context;
        _cluster = ((ExtendedActorSystem)context.System).Provider is ClusterActorRefProvider ? Cluster.Get(context.System) : null;
    }

    /// <summary>The cluster this queue runs in, or null on a single node without clustering.</summary>
    public Cluster? Cluster => _cluster;

    /// <summary>The actor known by this journal path (a holder of a lease in this run, or recovered), or one resolved from it; null when none.</summary>
    public IActorRef? ActorAt(string path)
    {
        foreach (var (actor, holder) in _holders)
        {
            if (holder.Path == path)
                return actor;
        }
        var resolved = ((ExtendedActorSystem)_context.System).Provider.ResolveActorRef(path);
        return resolved.IsNobody() ? null : resolved;
    }

    /// <summary>The holder record of <paramref name="actor"/>, made (and watched) on first sight.</summary>
    public Holder Of(IActorRef actor)
    {
        if (!_holders.TryGetValue(actor, out var holder))
        {
            holder = new Holder(Akka.Serialization.Serialization.SerializedActorPath(actor));
            _holders.Add(actor, holder);
            Watch(actor);
        }
        return holder;
    }

    /// <summary>
    /// A holder of a lease found in the journal: resolved and watched. Returns its actor, and whether
    /// its node is no longer in the cluster (nothing would ever tell the queue it died); null when its
    /// path can't be resolved (its leases then end at their deadline).
    /// </summary>
    public (IActorRef Actor, bool NodeGone)? Recovered(string path)
    {
        IActorRef actor;
        try
        {
            actor = ((ExtendedActorSystem)_context.System).Provider.ResolveActorRef(path);
        }
        catch (Exception)
        {
            return null;
        }
        if (!_holders.ContainsKey(actor))
        {
            _holders.Add(actor, new Holder(path));
            Watch(actor);
        }
        return (actor, IsGoneNode(actor.Path.Address));
    }

    /// <summary>Forgets a holder (it died, or its node left); null if it was not known.</summary>
    public Holder? Remove(IActorRef actor) => _holders.Remove(actor, out var holder) ? holder : null;

    /// <summary>The holders on the node at <paramref name="address"/>.</summary>
    public IActorRef[] OnNode(Address address) => _holders.Keys.Where(a => a.Path.Address.Equals(address)).ToArray();

    /// <summary>
    /// Stops watching holders for which <paramref name="idle"/> says they hold nothing and wait for
    /// nothing. Runs only when the set has grown to its sweep size.
    /// </summary>
    public void SweepIdle(Func<IActorRef, Holder, bool> idle)
    {
        if (_holders.Count < _sweepAt)
            return;
        foreach (var (actor, holder) in _holders.ToArray())
        {
            if (idle(actor, holder))
            {
                _holders.Remove(actor);
                _context.Unwatch(actor);
            }
        }
        _sweepAt = Math.Max(SweepAtLeast, _holders.Count * 2);
    }

    /// <summary>True when <paramref name="actor"/> can't hold a lease: no sender, or dead letters.</summary>
    public bool CannotHold(IActorRef actor) => actor.IsNobody() || actor.Equals(_context.System.DeadLetters);

    // An asker's temporary actor dies as soon as it has its answer: its leases end at their deadline.
    private static bool IsTemporary(IActorRef actor) => actor.Path.Elements is ["temp", ..];

    private void Watch(IActorRef actor)
    {
        if (!IsTemporary(actor))
            _context.Watch(actor);
    }

    private bool IsGoneNode(Address address) =>
        _cluster is not null && address.HasGlobalScope && !address.Equals(_cluster.SelfAddress)
        && !_cluster.State.Members.Any(m => m.Address.Equals(address));
}
