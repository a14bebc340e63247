using Akka.Actor;
using Akka.Event;
using static Linda.Beanstalk.BeanstalkProtocol;

namespace Linda.Beanstalk;

/// <summary>
/// A node's tube hub on the sharded placement: it answers a front end's questions as a <see cref="TubeHub"/>
/// does (<see cref="GetTube"/>, <see cref="FindTube"/>, <see cref="ListTubes"/>), each <see cref="Tube"/>'s
/// queue being this node's route into the queues' shard region (the tube's queue runs on whichever node
/// the region placed it), and its number the <see cref="TubeDirectory"/>'s. A number never changes, so
/// the node keeps every entry it has been told and asks the directory (a cluster singleton, through its
/// proxy) only for a tube it has not seen, and for the whole list: while the directory moves to another
/// node, tubes this node knows keep being served. At start it asks the directory for every tube (again
/// each second until answered) and makes each one's route, which wakes the tube's queue: a tube whose
/// journal holds delayed jobs (one the singleton placement's hub wrote, whose queue the region does not
/// remember yet) runs them on time with no command sent to it.
/// </summary>
/// <remarks>
/// A question the directory does not answer within the attempt given is not answered (the asker's own
/// attempt runs out and it asks again, as it does a hub that moves). A directory that answers as a
/// <see cref="TubeHub"/> (a node of the singleton placement runs the singleton) is not used: its tubes'
/// queues are its children, and routing to the region too would run a tube's queue twice.
/// </remarks>
public sealed class ShardedTubes : ReceiveActor, IWithTimers
{
    private readonly IActorRef _directory;
    private readonly Func<string, Props> _route;
    private readonly TimeSpan _attempt;
    private readonly TubeNumbering _known = new();
    private readonly Dictionary<string, IActorRef> _routes = new(StringComparer.Ordinal);
    private readonly ILoggingAdapter _log = Context.GetLogger();

    /// <param name="directory">The <see cref="TubeDirectory"/>: the proxy of its cluster singleton.</param>
    /// <param name="route">
    /// Props of this node's address of the queue of a name: an actor that forwards every queue message
    /// to that queue, wherever it runs, with its sender (the queues' shard region's route).
    /// </param>
    /// <param name="attempt">How long one question to the directory may take (<see cref="BeanstalkServerOptions.HubAttempt"/>).</param>
    public static Props Props(IActorRef directory, Func<string, Props> route, TimeSpan attempt) =>
        Akka.Actor.Props.Create(() => new ShardedTubes(directory, route, attempt));

    /// <summary>Makes a node's hub; see <see cref="Props"/>.</summary>
    public ShardedTubes(IActorRef directory, Func<string, Props> route, TimeSpan attempt)
    {
        _directory = directory;
        _route = route;
        _attempt = attempt;

        Receive<GetTube>(get =>
        {
            if (_known.TryNumber(get.Name, out var number))
                Sender.Tell(TubeOf(new TubeNumbered(get.Name, number)));
            else
                AskDirectory(get);
        });
        Receive<FindTube>(find =>
        {
            if (find.Name is { } name && _known.TryNumber(name, out var number))
                Sender.Tell(new TubeFound(TubeOf(new TubeNumbered(name, number))));
            else if (find.Name is null && _known.TryName(find.Number, out var named))
                Sender.Tell(new TubeFound(TubeOf(new TubeNumbered(named, find.Number))));
            else
                AskDirectory(find);
        });
        Receive<ListTubes>(AskDirectory);
        Receive<Answered>(OnAnswered);
        Receive<NotAnswered>(_ => { }); // the asker asks again
        Receive<WakeAll>(_ => _directory.Ask<IBeanstalkMessage>(ListTubes.Instance, _attempt).PipeTo(Self,
            success: reply => reply is TubeNumbers all ? new Woken(all) : WakeAgain.Instance,
            failure: _ => WakeAgain.Instance));
        Receive<Woken>(w =>
        {
            foreach (var entry in w.Tubes.Tubes)
            {
                _known.Apply(entry);
                TubeOf(entry);
            }
        });
        Receive<WakeAgain>(_ => Timers.StartSingleTimer("wake", WakeAll.Instance, WakeRetry));
    }

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>How often the start asks the directory for every tube again until it answers.</summary>
    internal static readonly TimeSpan WakeRetry = TimeSpan.FromSeconds(1);

    /// <inheritdoc />
    protected override void PreStart() => Self.Tell(WakeAll.Instance);

    private void AskDirectory(IBeanstalkMessage question)
    {
        var asker = Sender;
        _directory.Ask<IBeanstalkMessage>(question, _attempt).PipeTo(Self,
            success: reply => new Answered(asker, question, reply),
            failure: _ => NotAnswered.Instance);
    }

    private void OnAnswered(Answered a)
    {
        switch (a.Reply)
        {
            case TubeNumbered numbered when a.Question is GetTube:
                _known.Apply(numbered);
                a.Asker.Tell(TubeOf(numbered));
                break;
            case TubeRefused refused when a.Question is GetTube:
                a.Asker.Tell(refused);
                break;
            case TubeNumbers found when a.Question is FindTube:
                foreach (var entry in found.Tubes)
                    _known.Apply(entry);
                a.Asker.Tell(new TubeFound(found.Tubes.Count > 0 ? TubeOf(found.Tubes[0]) : null));
                break;
            case TubeNumbers all when a.Question is ListTubes:
                foreach (var entry in all.Tubes)
                    _known.Apply(entry);
                a.Asker.Tell(new TubeList(all.Tubes.Select(TubeOf).ToArray()));
                break;
            default:
                _log.Error("the tube directory answered {0} with {1}: the singleton runs on a node of the other placement " +
                           "(linda.placement = singleton); this node serves no tube it does not know until every node has the same placement",
                    a.Question.GetType().Name, a.Reply.GetType().Name);
                break;
        }
    }

    /// <summary>The tube, its queue this node's route to it (made on first use, kept: it follows the queue wherever it runs).</summary>
    private Tube TubeOf(TubeNumbered entry)
    {
        if (!_routes.TryGetValue(entry.Name, out var route))
        {
            route = Context.ActorOf(_route(entry.Name), "tube-" + Uri.EscapeDataString(entry.Name));
            _routes[entry.Name] = route;
        }
        return new Tube(entry.Name, entry.Number, route);
    }

    private sealed record Answered(IActorRef Asker, IBeanstalkMessage Question, IBeanstalkMessage Reply);

    private sealed class NotAnswered
    {
        public static readonly NotAnswered Instance = new();
    }

    private sealed class WakeAll
    {
        public static readonly WakeAll Instance = new();
    }

    private sealed class WakeAgain
    {
        public static readonly WakeAgain Instance = new();
    }

    private sealed record Woken(TubeNumbers Tubes);
}
