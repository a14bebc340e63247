using Akka.Actor;
using Linda.Beanstalk;
using Linda.Hosting;
using static Linda.Beanstalk.BeanstalkProtocol;
using static Linda.JobQueue;

namespace Linda.Server;

/// <summary>
/// The server's <see cref="ILindaClient"/>: every tube of the tube directory is a queue, so the
/// dashboard, its JSON API and the <c>linda</c> CLI show and act on the tubes beanstalkd clients use.
/// </summary>
/// <remarks>
/// The queues are the directory's tubes: every tube a client ever used (<c>use</c>, <c>watch</c>, a
/// connection's "default"; numbered once, never forgotten), and "default" from the start. Each call
/// finds its tube through the node's hub without making one (but "default", which any connection makes),
/// and sends the command to the tube's queue (the singleton <see cref="TubeHub"/>'s child, or on the
/// sharded placement this node's route into the queues' shard region), which forwards it to the queue
/// actor; while the hub or the queue moves to another node (<see cref="Unavailable"/>) it is found and asked
/// again (<see cref="AskAgain"/>), as the front end's connections do. A command sent while the node the
/// queue ran on has died but the cluster does not know it yet is lost and times out, as
/// <see cref="LindaClient"/>'s does on the sharded placement. A tube that does not exist gets
/// what <see cref="LindaClient"/> answers for a queue it does not know: <see cref="Rejected"/> with
/// <see cref="RejectReason.InvalidQueueName"/>.
/// </remarks>
internal sealed class TubeClient : ILindaClient
{
    /// <summary>The tube every beanstalkd connection uses and watches first.</summary>
    public const string DefaultTube = "default";

    private const string HubMoving = "the tube hub is moving to another node";

    private readonly IActorRef _hub;
    private readonly BeanstalkServerOptions _options;
    private readonly AskAgain _askAgain;
    private readonly bool _makesTubes;
    private volatile IReadOnlyCollection<string> _listed = [DefaultTube];

    /// <param name="system">The server's ActorSystem (its <c>linda.delivery</c> settings).</param>
    /// <param name="hub">The node's tube hub: <see cref="ShardedTubes"/>, a <see cref="TubeHub"/>, or the proxy of its cluster singleton.</param>
    /// <param name="options">The front end's timeouts: <see cref="BeanstalkServerOptions.HubAttempt"/> for each question to the hub, <see cref="BeanstalkServerOptions.AskTimeout"/> for each to a queue.</param>
    /// <param name="makesTubes">
    /// True for a client that feeds tubes, as a broker bridge does: a command to a tube that does not
    /// exist makes it, as a beanstalkd client's <c>use</c> does. False (the dashboard's, the CLI's): it is refused.
    /// </param>
    public TubeClient(ActorSystem system, IActorRef hub, BeanstalkServerOptions options, bool makesTubes = false)
    {
        _hub = hub;
        _options = options;
        _makesTubes = makesTubes;
        _askAgain = LindaSettings.Create(system).AskAgain;
    }

    /// <summary>
    /// The tubes of the hub's directory, by name, "default" among them. Asked of the hub each time,
    /// waiting at most <see cref="BeanstalkServerOptions.HubAttempt"/>: while the hub moves to another
    /// node, the tubes it listed last.
    /// </summary>
    public IReadOnlyCollection<string> Queues
    {
        get
        {
            try
            {
                var list = _hub.Ask<TubeList>(ListTubes.Instance, _options.HubAttempt).GetAwaiter().GetResult();
                _listed = list.Tubes.Select(t => t.Name).Append(DefaultTube).Distinct(StringComparer.Ordinal).ToArray();
            }
            catch (AskTimeoutException)
            {
                // The hub is moving: what it listed last.
            }
            return _listed;
        }
    }

    /// <summary>A typed push without a queue goes to "default", as a beanstalkd client's put does.</summary>
    public string? DefaultQueue => DefaultTube;

    /// <summary>The tube's queue (the hub's child, or the node's route to it: either forwards to the queue actor).</summary>
    /// <exception cref="ArgumentException">No such tube.</exception>
    /// <exception cref="AskTimeoutException">The hub did not answer in time.</exception>
    public IActorRef Queue(string name) =>
        FindAsync(name ?? "", CancellationToken.None).GetAwaiter().GetResult() is { Queue: var queue } && !queue.IsNobody()
            ? queue
            : throw new ArgumentException($"no tube '{name}' on this server", nameof(name));

    /// <inheritdoc />
    public async Task<IReply> SendAsync(string queue, ICommand command, CancellationToken cancellationToken = default)
    {
        if (Names.Check(queue, "queue name") is { } invalid)
            return new Rejected(RejectReason.InvalidQueueName, invalid);
        var reply = await _askAgain.AskAsync(async ct =>
        {
            Tube? tube;
            try
            {
                tube = await FindAsync(queue, ct);
            }
            catch (AskTimeoutException)
            {
                return new Unavailable(HubMoving); // a question to a hub whose node just died is lost: ask again
            }
            if (tube is null)
                return new Rejected(RejectReason.InvalidQueueName, $"no tube '{queue}' on this server (a beanstalkd client makes one with use or watch)");
            if (tube.Queue.IsNobody())
                return new Unavailable(HubMoving); // the hub is stopping for a hand-over
            // No answer in time throws, as LindaClient's ask does: the command may have been applied.
            return await tube.Queue.Ask<IReply>(command, _options.AskTimeout, ct);
        }, _options.Time, cancellationToken);
        return reply!;
    }

    /// <summary>
    /// The tube named <paramref name="name"/>, or null; "default" is made when new, as every connection
    /// makes it (and every tube by a client that <see cref="_makesTubes"/>).
    /// </summary>
    private async Task<Tube?> FindAsync(string name, CancellationToken cancellationToken) =>
        name == DefaultTube || _makesTubes
            ? await _hub.Ask<IBeanstalkMessage>(new GetTube(name), _options.HubAttempt, cancellationToken) as Tube
            : (await _hub.Ask<TubeFound>(new FindTube(name, 0), _options.HubAttempt, cancellationToken)).Tube;
}
