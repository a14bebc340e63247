using Akka.Actor;
using Linda.Beanstalk;
using Linda.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;
using static Linda.Beanstalk.BeanstalkProtocol;

namespace Linda.Tests.Beanstalk;

/// <summary>
/// <see cref="TubeDirectory"/>, the sharded placement's tube directory, on a SQLite journal: it numbers
/// tubes as the <see cref="TubeHub"/> does (in order from 0, once each), recovers its numbers, and reads
/// and writes the very journal of the hub (one persistence id, one event), so a cluster that ran the
/// singleton placement keeps its wire ids on the sharded one, and back.
/// </summary>
[Collection(DatabaseCollection.Name)]
public sealed class TubeDirectorySpec : QueueSpec
{
    public TubeDirectorySpec(ITestOutputHelper output) : base(output, new TempFolder()) => BeanstalkServer.UseSerializer(Sys);

    private IActorRef StartDirectory() => Sys.ActorOf(TubeDirectory.Props(Settings));

    private void Stop(IActorRef actor)
    {
        Watch(actor);
        Sys.Stop(actor);
        ExpectTerminated(actor, Wait);
        Unwatch(actor);
    }

    private static TubeNumbered[] Entries(params string[] entries) =>
        entries.Select(e => e.Split(' ')).Select(e => new TubeNumbered(e[0], long.Parse(e[1], System.Globalization.CultureInfo.InvariantCulture))).ToArray();

    private IReadOnlyList<TubeNumbered> List(IActorRef directory)
    {
        directory.Tell(ListTubes.Instance);
        return ExpectMsg<TubeNumbers>(Wait).Tubes;
    }

    [Fact]
    public void Tubes_are_numbered_in_order_once_each_and_a_bad_name_is_refused()
    {
        var directory = StartDirectory();
        directory.Tell(new GetTube("a"));
        Assert.Equal(new TubeNumbered("a", 0), ExpectMsg<TubeNumbered>(Wait));
        directory.Tell(new GetTube("b"));
        Assert.Equal(new TubeNumbered("b", 1), ExpectMsg<TubeNumbered>(Wait));
        directory.Tell(new GetTube("a"));
        Assert.Equal(new TubeNumbered("a", 0), ExpectMsg<TubeNumbered>(Wait));
        // Named twice in a row, before the first is written: numbered once.
        directory.Tell(new GetTube("c"));
        directory.Tell(new GetTube("c"));
        Assert.Equal(new TubeNumbered("c", 2), ExpectMsg<TubeNumbered>(Wait));
        Assert.Equal(new TubeNumbered("c", 2), ExpectMsg<TubeNumbered>(Wait));
        directory.Tell(new GetTube(""));
        ExpectMsg<TubeRefused>(Wait);
        directory.Tell(new GetTube("no spaces"));
        Assert.Contains("contains ' '", ExpectMsg<TubeRefused>(Wait).Reason);

        directory.Tell(new FindTube("b", 0));
        Assert.Equal(new[] { new TubeNumbered("b", 1) }, ExpectMsg<TubeNumbers>(Wait).Tubes);
        directory.Tell(new FindTube(null, 2));
        Assert.Equal(new[] { new TubeNumbered("c", 2) }, ExpectMsg<TubeNumbers>(Wait).Tubes);
        directory.Tell(new FindTube("d", 0));
        Assert.Empty(ExpectMsg<TubeNumbers>(Wait).Tubes);
        directory.Tell(new FindTube(null, 3));
        Assert.Empty(ExpectMsg<TubeNumbers>(Wait).Tubes);
        Assert.Equal(Entries("a 0", "b 1", "c 2"), List(directory));
    }

    [Fact]
    public void The_directory_recovers_its_numbers_and_goes_on_from_them()
    {
        var directory = StartDirectory();
        foreach (var name in new[] { "x", "y" })
        {
            directory.Tell(new GetTube(name));
            ExpectMsg<TubeNumbered>(Wait);
        }
        Stop(directory);

        var again = StartDirectory();
        Assert.Equal(Entries("x 0", "y 1"), List(again));
        again.Tell(new GetTube("z"));
        Assert.Equal(new TubeNumbered("z", 2), ExpectMsg<TubeNumbered>(Wait));
    }

    [Fact]
    public void The_directory_reads_the_singleton_hubs_journal_and_the_hub_reads_the_directorys()
    {
        var hub = Sys.ActorOf(TubeHub.Props(Settings, 65_535));
        foreach (var name in new[] { "default", "emails" })
        {
            hub.Tell(new GetTube(name));
            ExpectMsg<Tube>(Wait);
        }
        Stop(hub);

        var directory = StartDirectory();
        Assert.Equal(Entries("default 0", "emails 1"), List(directory));
        directory.Tell(new GetTube("reports"));
        Assert.Equal(new TubeNumbered("reports", 2), ExpectMsg<TubeNumbered>(Wait));
        Stop(directory);

        var back = Sys.ActorOf(TubeHub.Props(Settings, 65_535));
        back.Tell(ListTubes.Instance);
        Assert.Equal(new[] { "default 0", "emails 1", "reports 2" }, ExpectMsg<TubeList>(Wait).Tubes.Select(t => $"{t.Name} {t.Number}"));
        back.Tell(new GetTube("more"));
        Assert.Equal(3, ExpectMsg<Tube>(Wait).Number);
    }

    [Fact]
    public void A_hand_over_stops_the_directory_once_its_write_is_done()
    {
        var directory = StartDirectory();
        Watch(directory);
        directory.Tell(new GetTube("late"));
        directory.Tell(HandOver.Instance);
        Assert.Equal(new TubeNumbered("late", 0), ExpectMsg<TubeNumbered>(Wait));
        ExpectTerminated(directory, Wait);

        Assert.Equal(Entries("late 0"), List(StartDirectory()));
    }
}
