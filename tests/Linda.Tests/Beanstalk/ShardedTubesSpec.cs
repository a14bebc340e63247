using System.Collections.Concurrent;
using Akka.Actor;
using Akka.TestKit;
using Linda.Beanstalk;
using Xunit;
using Xunit.Abstractions;
using static Linda.Beanstalk.BeanstalkProtocol;

namespace Linda.Tests.Beanstalk;

/// <summary>
/// <see cref="ShardedTubes"/>, a node's tube hub on the sharded placement, with a probe for the tube
/// directory and one for the queues' routes: it answers the front end's questions as a hub does, asks the
/// directory only for what it has not seen (and for the list), and gives each tube this node's route to
/// its queue, made once. Whether the directory was asked is checked by the next question it gets.
/// </summary>
public sealed class ShardedTubesSpec : Akka.TestKit.Xunit2.TestKit
{
    private static readonly TimeSpan Attempt = TimeSpan.FromSeconds(1);

    private readonly TestProbe _directory;
    private readonly TestProbe _queues;
    private readonly ConcurrentQueue<string> _routesMade = new();
    private readonly IActorRef _tubes;

    public ShardedTubesSpec(ITestOutputHelper output) : base("akka.loglevel = INFO", "sharded-tubes-spec", output)
    {
        _directory = CreateTestProbe("directory");
        _queues = CreateTestProbe("queues");
        _tubes = Sys.ActorOf(ShardedTubes.Props(_directory.Ref, name =>
        {
            _routesMade.Enqueue(name);
            return Props.Create(() => new Route(name, _queues.Ref));
        }, Attempt));
        // At start it asks for every tube, to wake their queues: none yet.
        DirectoryAnswers(ListTubes.Instance, new TubeNumbers([]));
    }

    [Fact]
    public void At_start_it_makes_a_route_for_every_tube_of_the_directory_which_wakes_its_queue()
    {
        var tubes = Sys.ActorOf(ShardedTubes.Props(_directory.Ref, name =>
        {
            _routesMade.Enqueue(name);
            return Props.Create(() => new Route(name, _queues.Ref));
        }, Attempt));
        // Unanswered first: asked again (each second) until the directory answers.
        Assert.Equal(ListTubes.Instance, _directory.ExpectMsg<IBeanstalkMessage>());
        DirectoryAnswers(ListTubes.Instance, new TubeNumbers([new TubeNumbered("default", 0), new TubeNumbered("later", 1)]));
        AwaitCondition(() => _routesMade.Order(StringComparer.Ordinal).SequenceEqual(["default", "later"]), TimeSpan.FromSeconds(10));
        // Known now: asked of no one.
        tubes.Tell(new GetTube("later"));
        Assert.Equal(("later", 1L), ExpectMsg<Tube>() is var t ? (t.Name, t.Number) : default);
    }

    /// <summary>A route as the region's is: every message to the tube's queue, with its sender; here wrapped with the tube's name.</summary>
    private sealed class Route : ReceiveActor
    {
        public Route(string tube, IActorRef queues) => Receive<object>(m => queues.Forward((tube, m)));
    }

    private T AskTubes<T>(IBeanstalkMessage question)
    {
        _tubes.Tell(question);
        return ExpectMsg<T>();
    }

    /// <summary>The directory is asked <paramref name="question"/> (and nothing before it) and answers <paramref name="answer"/>.</summary>
    private void DirectoryAnswers(IBeanstalkMessage question, IBeanstalkMessage answer)
    {
        Assert.Equal(question, _directory.ExpectMsg<IBeanstalkMessage>());
        _directory.Reply(answer);
    }

    /// <summary>The directory was asked nothing since: the next question it gets is this one.</summary>
    private void DirectoryAskedNothingMore()
    {
        _tubes.Tell(new GetTube("sentinel"));
        Assert.Equal(new GetTube("sentinel"), _directory.ExpectMsg<IBeanstalkMessage>());
        _directory.Reply(new TubeNumbered("sentinel", 99));
        ExpectMsg<Tube>();
    }

    [Fact]
    public void A_tube_it_has_seen_is_answered_from_what_it_knows()
    {
        _tubes.Tell(new GetTube("a"));
        DirectoryAnswers(new GetTube("a"), new TubeNumbered("a", 5));
        var tube = ExpectMsg<Tube>();
        Assert.Equal(("a", 5L), (tube.Name, tube.Number));

        Assert.Equal(tube, AskTubes<Tube>(new GetTube("a")));
        Assert.Equal(tube, AskTubes<TubeFound>(new FindTube("a", 0)).Tube);
        Assert.Equal(tube, AskTubes<TubeFound>(new FindTube(null, 5)).Tube);
        DirectoryAskedNothingMore();
        Assert.Equal(new[] { "a", "sentinel" }, _routesMade);
    }

    [Fact]
    public void What_it_has_not_seen_is_asked_of_the_directory_and_the_list_always_is()
    {
        _tubes.Tell(new FindTube("b", 0));
        DirectoryAnswers(new FindTube("b", 0), new TubeNumbers([]));
        Assert.Null(ExpectMsg<TubeFound>().Tube);

        _tubes.Tell(new FindTube(null, 3));
        DirectoryAnswers(new FindTube(null, 3), new TubeNumbers([new TubeNumbered("c", 3)]));
        Assert.Equal(("c", 3L), ExpectMsg<TubeFound>().Tube is { } c ? (c.Name, c.Number) : default);

        _tubes.Tell(ListTubes.Instance);
        DirectoryAnswers(ListTubes.Instance, new TubeNumbers([new TubeNumbered("a", 0), new TubeNumbered("c", 3)]));
        var list = ExpectMsg<TubeList>().Tubes;
        Assert.Equal(new[] { "a 0", "c 3" }, list.Select(t => $"{t.Name} {t.Number}"));

        // Both are known now.
        Assert.Equal(list[0], AskTubes<Tube>(new GetTube("a")));
        Assert.Equal(list[1], AskTubes<TubeFound>(new FindTube("c", 0)).Tube);
        DirectoryAskedNothingMore();
    }

    [Fact]
    public void A_tubes_queue_is_this_nodes_route_to_it()
    {
        _tubes.Tell(new GetTube("a"));
        DirectoryAnswers(new GetTube("a"), new TubeNumbered("a", 0));
        var tube = ExpectMsg<Tube>();
        tube.Queue.Tell(JobQueue.Locate.Instance);
        Assert.Equal(("a", (object)JobQueue.Locate.Instance), _queues.ExpectMsg<(string, object)>());
        Assert.Equal(TestActor, _queues.LastSender);
    }

    [Fact]
    public void A_name_the_directory_refuses_is_refused()
    {
        _tubes.Tell(new GetTube("-bad"));
        DirectoryAnswers(new GetTube("-bad"), new TubeRefused("tube name '-bad' starts with a hyphen"));
        Assert.Equal("tube name '-bad' starts with a hyphen", ExpectMsg<TubeRefused>().Reason);
        Assert.Empty(_routesMade);
    }

    [Fact]
    public void A_question_the_directory_does_not_answer_in_time_is_not_answered_and_is_asked_again_the_next_time()
    {
        _tubes.Tell(new GetTube("a"));
        Assert.Equal(new GetTube("a"), _directory.ExpectMsg<IBeanstalkMessage>()); // lost: no answer
        ExpectNoMsg(Attempt + Attempt); // the asker's own attempt runs out, and it asks again
        _tubes.Tell(new GetTube("a"));
        DirectoryAnswers(new GetTube("a"), new TubeNumbered("a", 1));
        Assert.Equal(1, ExpectMsg<Tube>().Number);
    }

    [Fact]
    public void A_directory_that_answers_as_the_singleton_placements_hub_is_not_used()
    {
        EventFilter.Error(contains: "linda.placement = singleton").ExpectOne(() =>
        {
            _tubes.Tell(new GetTube("a"));
            DirectoryAnswers(new GetTube("a"), new Tube("a", 0, _queues.Ref));
        });
        ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        Assert.Empty(_routesMade);
    }
}
