using Akka.Actor;

namespace Linda;

/// <summary>
/// Reserves waiting for a job: served oldest first the moment a job is ready, each until its own
/// timeout. Counts each holder's waiting reserves, so the holder registry knows who is still waiting.
/// </summary>
internal sealed class WaitingReserves
{
    private sealed class Waiter(IActorRef replyTo, DateTimeOffset expiresAt, long pull)
    {
        public readonly IActorRef ReplyTo = replyTo;
        public readonly DateTimeOffset ExpiresAt = expiresAt;
        public readonly long Pull = pull;
        public LinkedListNode<Waiter>? Node;
    }

    private readonly LinkedList<Waiter> _inOrder = new();
    private readonly PriorityQueue<Waiter, DateTimeOffset> _byTimeout = new();
    private readonly Dictionary<IActorRef, int> _perHolder = new();

    /// <summary>Reserves waiting now.</summary>
    public int Count => _inOrder.Count;

    /// <summary>How many reserves <paramref name="holder"/> has waiting.</summary>
    public int Of(IActorRef holder) => _perHolder.GetValueOrDefault(holder);

    /// <summary>A reserve of <paramref name="holder"/> waits until <paramref name="expiresAt"/>.</summary>
    public void Add(IActorRef holder, DateTimeOffset expiresAt, long pull)
    {
        var waiter = new Waiter(holder, expiresAt, pull);
        waiter.Node = _inOrder.AddLast(waiter);
        _byTimeout.Enqueue(waiter, expiresAt);
        _perHolder[holder] = Of(holder) + 1;
    }

    /// <summary>Takes the oldest waiting reserve.</summary>
    public bool TryTakeOldest(out IActorRef holder, out long pull)
    {
        if (_inOrder.First is not { } first)
        {
            (holder, pull) = (ActorRefs.Nobody, 0);
            return false;
        }
        Remove(first.Value);
        (holder, pull) = (first.Value.ReplyTo, first.Value.Pull);
        return true;
    }

    /// <summary>Takes a reserve whose wait is over at <paramref name="now"/>, if any.</summary>
    public bool TryTakeExpired(DateTimeOffset now, out IActorRef holder)
    {
        while (_byTimeout.TryPeek(out var w, out var expires) && (w.Node is null || expires <= now))
        {
            _byTimeout.Dequeue();
            if (w.Node is null)
                continue; // served or dropped already
            Remove(w);
            holder = w.ReplyTo;
            return true;
        }
        holder = ActorRefs.Nobody;
        return false;
    }

    /// <summary>When the soonest waiting reserve times out.</summary>
    public DateTimeOffset? NextTimeout
    {
        get
        {
            while (_byTimeout.TryPeek(out var w, out _) && w.Node is null)
                _byTimeout.Dequeue();
            return _byTimeout.TryPeek(out _, out var expires) ? expires : null;
        }
    }

    /// <summary>Removes every waiting reserve of <paramref name="holder"/>; returns how many there were.</summary>
    public int Drop(IActorRef holder)
    {
        var dropped = 0;
        if (Of(holder) == 0)
            return 0;
        for (var node = _inOrder.First; node is not null;)
        {
            var next = node.Next;
            if (node.Value.ReplyTo.Equals(holder))
            {
                Remove(node.Value);
                dropped++;
            }
            node = next;
        }
        return dropped;
    }

    /// <summary>Removes every waiting reserve, oldest first, and returns their holders (one per reserve).</summary>
    public List<IActorRef> TakeAll()
    {
        var all = new List<IActorRef>(_inOrder.Count);
        while (TryTakeOldest(out var holder, out _))
            all.Add(holder);
        _byTimeout.Clear();
        return all;
    }

    private void Remove(Waiter w)
    {
        _inOrder.Remove(w.Node!);
        w.Node = null;
        if (--_perHolder[w.ReplyTo] == 0)
            _perHolder.Remove(w.ReplyTo);
    }
}
