using Akka.Actor;
using static Linda.Beanstalk.BeanstalkProtocol;

namespace Linda.Beanstalk;

/// <summary>
/// A connection's view of the tube directory (beanstalkd's <c>tube.c</c>, on the client side): the
/// tubes it has used, each with its queue actor located (<see cref="JobQueue.Locate"/>), so commands go
/// straight to it; a tube whose queue stopped is looked up again. The hub, and a tube's queue for its
/// location, are asked in short attempts (<see cref="BeanstalkServerOptions.HubAttempt"/>): when a node
/// dies, a question sent before the survivors learn of it is lost (to the singleton hub or directory
/// through its proxy, to a sharded queue through the node's shard region, which still routes to the
/// dead node for a moment), and the next attempt reaches the new incarnation. Both questions change nothing.
/// </summary>
internal sealed class TubeCache(IActorRef hub, InFlight inFlight, BeanstalkServerOptions options, CancellationToken stop)
{
    private readonly Dictionary<string, Tube> _byName = new(StringComparer.Ordinal);

    /// <summary>The tube named <paramref name="name"/> if this connection knows it and its queue still runs.</summary>
    public bool TryKnown(string name, out Tube tube) =>
        _byName.TryGetValue(name, out tube!) && !inFlight.IsGone(tube.Queue);

    /// <summary>The tube named <paramref name="name"/>, numbered in the directory if new (it exists from then on).</summary>
    /// <exception cref="InvalidOperationException">The hub refuses the name.</exception>
    /// <exception cref="AskTimeoutException">The hub could not be reached in time.</exception>
    public async Task<Tube> Get(string name)
    {
        if (TryKnown(name, out var known))
            return known;
        var reply = await AskHub<IBeanstalkMessage>(new GetTube(name));
        var tube = reply as Tube ?? throw new InvalidOperationException(((TubeRefused)reply).Reason);
        return await Located(tube);
    }

    /// <summary>The name of tube number <paramref name="number"/>, if this connection knows it.</summary>
    public string? NameOf(long number)
    {
        foreach (var tube in _byName.Values)
        {
            if (tube.Number == number)
                return tube.Name;
        }
        return null;
    }

    /// <summary>The tube of number <paramref name="number"/> (the high bits of a wire id), if it exists.</summary>
    public async Task<Tube?> Find(long number)
    {
        foreach (var tube in _byName.Values)
        {
            if (tube.Number == number && !inFlight.IsGone(tube.Queue))
                return tube;
        }
        return await Found(await AskHub<TubeFound>(new FindTube(null, number)));
    }

    /// <summary>The tube named <paramref name="name"/>, if it exists, without numbering it.</summary>
    public async Task<Tube?> Find(string name) =>
        TryKnown(name, out var known) ? known : await Found(await AskHub<TubeFound>(new FindTube(name, 0)));

    /// <summary>Every tube of the directory, each with its queue located.</summary>
    public async Task<IReadOnlyList<Tube>> All()
    {
        var listed = (await AskHub<TubeList>(ListTubes.Instance)).Tubes;
        return await Task.WhenAll(listed.Select(t => TryKnown(t.Name, out var known) ? Task.FromResult(known) : Located(t)));
    }

    /// <summary>Forgets a tube whose queue stopped or moved: the next use looks it up again.</summary>
    public void Forget(string name) => _byName.Remove(name);

    private async Task<Tube?> Found(TubeFound found) => found.Tube is { } tube ? await Located(tube) : null;

    /// <summary>The tube with its queue actor itself in place of its supervisor, remembered while that actor runs.</summary>
    private async Task<Tube> Located(Tube tube)
    {
        if (tube.Queue.IsNobody())
            return tube; // the hub is stopping for a hand-over: asked again by the caller
        var located = await AskInAttempts<JobQueue.IReply>(tube.Queue, JobQueue.Locate.Instance);
        if (located is not JobQueue.Located { Queue: var queue })
            return tube with { Queue = ActorRefs.Nobody }; // stopping (Unavailable): as good as a hub that moves
        var usable = tube with { Queue = queue };
        _byName[tube.Name] = usable;
        return usable;
    }

    /// <summary>Asks the hub in attempts of <see cref="BeanstalkServerOptions.HubAttempt"/> until <see cref="BeanstalkServerOptions.HubTimeout"/>.</summary>
    public Task<T> AskHub<T>(IBeanstalkMessage question) => AskInAttempts<T>(hub, question);

    /// <summary>Asks <paramref name="whom"/> a question that changes nothing, in attempts of <see cref="BeanstalkServerOptions.HubAttempt"/> until <see cref="BeanstalkServerOptions.HubTimeout"/>.</summary>
    private async Task<T> AskInAttempts<T>(IActorRef whom, object question)
    {
        var giveUpAt = options.Time.GetUtcNow() + options.HubTimeout;
        while (true)
        {
            try
            {
                return await whom.Ask<T>(question, options.HubAttempt, stop);
            }
            catch (AskTimeoutException) when (options.Time.GetUtcNow() < giveUpAt)
            {
            }
        }
    }
}
