using Akka.Actor;
using Akka.Event;
using Akka.Persistence;

namespace Linda.Beanstalk;

/// <summary>
/// The tubes of a beanstalkd front end: a persisted directory that numbers each tube name once and for
/// all, and a <see cref="JobQueueActor"/> child per tube, started on first use. A wire job id holds the
/// tube's number (<see cref="WireIds"/>), so the directory must survive restarts and move with the hub:
/// on a cluster the hub runs as a cluster singleton (terminated with <see cref="BeanstalkProtocol.HandOver"/>),
/// so every tube (and its queue actor) lives on one node and every node's front end talks to them.
/// </summary>
public sealed class TubeHub : ReceivePersistentActor
{
    /// <summary>The hub's persistence id.</summary>
    public const string Id = "linda-beanstalk-tubes";

    private readonly LindaSettings _settings;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly TubeNumbering _numbering = new();
    private readonly Dictionary<string, IActorRef> _queues = new(StringComparer.Ordinal);
    private bool _stopping;

    /// <summary>Props for a hub whose tube queues use <paramref name="settings"/> with beanstalkd's wider limits (<see cref="ForTubes"/>).</summary>
    public static Props Props(LindaSettings settings, int maxJobSize) =>
        Akka.Actor.Props.Create(() => new TubeHub(ForTubes(settings, maxJobSize)));

    /// <summary>The settings of a tube's queue: beanstalkd accepts delays and ttrs up to 2^32-1 s and never buries on its own.</summary>
    public static LindaSettings ForTubes(LindaSettings settings, int maxJobSize) => settings with
    {
        Limits = settings.Limits with
        {
            MaxDelay = TimeSpan.FromSeconds(uint.MaxValue),
            MaxTimeToRun = TimeSpan.FromSeconds(uint.MaxValue),
            MaxPayloadBytes = Math.Max(settings.Limits.MaxPayloadBytes, maxJobSize + 64),
            DefaultMaxRetries = null,
        },
    };

    /// <summary>Makes a hub; see <see cref="Props"/>.</summary>
    public TubeHub(LindaSettings settings)
    {
        _settings = settings;
        JournalPluginId = settings.JournalPluginId;
        SnapshotPluginId = settings.SnapshotPluginId;

        Recover<BeanstalkProtocol.TubeNumbered>(_numbering.Apply);
        Command<BeanstalkProtocol.GetTube>(get =>
        {
            if (_numbering.TryNumber(get.Name, out _))
            {
                Sender.Tell(TubeOf(get.Name));
                return;
            }
            // A tube named twice in a row is numbered once: the second Get finds it after the first write.
            var numbering = _numbering.Number(get.Name);
            if (numbering is not BeanstalkProtocol.TubeNumbered numbered)
            {
                Sender.Tell(numbering); // refused
                return;
            }
            Persist(numbered, e =>
            {
                _numbering.Apply(e);
                Sender.Tell(TubeOf(e.Name));
            });
        });
        Command<BeanstalkProtocol.FindTube>(find =>
        {
            if (find.Name is { } name)
                Sender.Tell(new BeanstalkProtocol.TubeFound(_numbering.TryNumber(name, out _) ? TubeOf(name) : null));
            else
                Sender.Tell(new BeanstalkProtocol.TubeFound(_numbering.TryName(find.Number, out var n) ? TubeOf(n) : null));
        });
        Command<BeanstalkProtocol.ListTubes>(_ =>
            Sender.Tell(new BeanstalkProtocol.TubeList(_numbering.All.Select(e => TubeOf(e.Name)).ToArray())));
        Command<BeanstalkProtocol.HandOver>(_ =>
        {
            // The singleton moves to another node: every queue finishes its writes and stops, then the hub.
            _stopping = true;
            foreach (var queue in _queues.Values)
                queue.Tell(JobQueueActor.StopGracefully.Instance);
            if (_queues.Count == 0)
                Context.Stop(Self);
        });
        Command<Terminated>(t =>
        {
            foreach (var (name, queue) in _queues)
            {
                if (!queue.Equals(t.ActorRef))
                    continue;
                if (!_stopping)
                    // A queue stops when its journal fails; the next command for the tube starts it again from the journal.
                    _log.Warning("tube {0}: its queue stopped; it starts again on the next command", name);
                _queues.Remove(name);
                break;
            }
            if (_stopping && _queues.Count == 0)
                Context.Stop(Self);
        });
    }

    /// <inheritdoc />
    public override string PersistenceId => Id;

    private BeanstalkProtocol.Tube TubeOf(string name)
    {
        if (!_queues.TryGetValue(name, out var queue) && _stopping)
            return new BeanstalkProtocol.Tube(name, NumberOf(name), ActorRefs.Nobody);
        if (queue is null)
        {
            queue = Context.ActorOf(JobQueueActor.Props(name, _settings), "tube-" + Uri.EscapeDataString(name) + "-" + Guid.NewGuid().ToString("N")[..8]);
            Context.Watch(queue);
            _queues[name] = queue;
        }
        return new BeanstalkProtocol.Tube(name, NumberOf(name), queue);
    }

    private long NumberOf(string name) => _numbering.TryNumber(name, out var number) ? number : throw new InvalidOperationException($"tube {name} is not numbered");
}
