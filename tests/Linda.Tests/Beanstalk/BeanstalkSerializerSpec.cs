using System.Runtime.Serialization;
using Akka.Actor;
using Linda.Beanstalk;
using Xunit;
using Xunit.Abstractions;
using static Linda.Beanstalk.BeanstalkProtocol;

namespace Linda.Tests.Beanstalk;

/// <summary>
/// <see cref="BeanstalkSerializer"/>: every message between a front end's connections and its tube
/// hub, and between a node and the <see cref="TubeDirectory"/> (and the directory's journal event), survives a round trip through the serializer the
/// ActorSystem binds to it, its manifests are pinned (the event's is stored in the journal), and bytes
/// cut short fail with a <see cref="SerializationException"/>.
/// </summary>
public sealed class BeanstalkSerializerSpec : Akka.TestKit.Xunit2.TestKit
{
    public BeanstalkSerializerSpec(ITestOutputHelper output)
        : base(BeanstalkSerializer.Config.WithFallback(LindaSettings.DefaultConfig), "beanstalk-serializer-spec", output)
    {
    }

    private const string NonAscii = "tübe-日本語-🚀";

    /// <summary>The cases, built on this system's actors: an actor reference resolves to itself only in its own system.</summary>
    private (string Name, IBeanstalkMessage Message)[] Cases()
    {
        var queue = TestActor;
        var other = Sys.ActorOf(Props.Empty, "other-queue");
        var a = new Tube("default", 0, queue);
        var b = new Tube(NonAscii, WireIds.MaxTubes - 1, other);
        return
        [
            ("GetTube", new GetTube("default")),
            ("GetTube non-ASCII", new GetTube(NonAscii)),
            ("GetTube empty", new GetTube("")),
            ("FindTube by name", new FindTube("jobs", 0)),
            ("FindTube by name, number ignored", new FindTube("jobs", 12)),
            ("FindTube by empty name", new FindTube("", 3)),
            ("FindTube by number", new FindTube(null, 7)),
            ("FindTube by number 0", new FindTube(null, 0)),
            ("FindTube by the largest number", new FindTube(null, long.MaxValue)),
            ("FindTube by a negative number", new FindTube(null, -1)),
            ("ListTubes", ListTubes.Instance),
            ("Tube", a),
            ("Tube non-ASCII, last number", b),
            ("TubeFound with a tube", new TubeFound(a)),
            ("TubeFound without a tube", new TubeFound(null)),
            ("TubeList empty", new TubeList([])),
            ("TubeList one", new TubeList([b])),
            ("TubeList several", new TubeList([a, b, new Tube("third", 2, queue)])),
            ("TubeRefused", new TubeRefused("no tube numbers left")),
            ("TubeRefused empty", new TubeRefused("")),
            ("TubeNumbered", new TubeNumbered("default", 0)),
            ("TubeNumbered non-ASCII, last number", new TubeNumbered(NonAscii, WireIds.MaxTubes - 1)),
            ("HandOver", HandOver.Instance),
            ("TubeNumbers empty", new TubeNumbers([])),
            ("TubeNumbers one", new TubeNumbers([new TubeNumbered("emails", 1)])),
            ("TubeNumbers several", new TubeNumbers([new TubeNumbered("default", 0), new TubeNumbered(NonAscii, WireIds.MaxTubes - 1), new TubeNumbered("", 2)])),
        ];
    }

    /// <summary>The manifest of each message type, for good: a journal holds the hub's events under theirs.</summary>
    private static readonly Dictionary<Type, string> PinnedManifests = new()
    {
        [typeof(GetTube)] = "bGet",
        [typeof(FindTube)] = "bFind",
        [typeof(ListTubes)] = "bList",
        [typeof(Tube)] = "bTube",
        [typeof(TubeFound)] = "bFound",
        [typeof(TubeList)] = "bTubes",
        [typeof(TubeRefused)] = "bRefused",
        [typeof(TubeNumbered)] = "eTube",
        [typeof(HandOver)] = "bHandOver",
        [typeof(TubeNumbers)] = "bNumbers",
    };

    private BeanstalkSerializer SerializerFor(object message)
    {
        var serializer = Sys.Serialization.FindSerializerFor(message);
        Assert.True(serializer is BeanstalkSerializer,
            $"{message.GetType()} is serialized by {serializer.GetType()} (id {serializer.Identifier}), not by BeanstalkSerializer");
        Assert.Equal(BeanstalkSerializer.Id, serializer.Identifier);
        return (BeanstalkSerializer)serializer;
    }

    private static void AssertEquivalent(object expected, object actual)
    {
        Assert.IsType(expected.GetType(), actual);
        if (expected is TubeList list)
            Assert.Equal(list.Tubes, ((TubeList)actual).Tubes); // element by element: the record compares the list by reference
        else if (expected is TubeNumbers numbers)
            Assert.Equal(numbers.Tubes, ((TubeNumbers)actual).Tubes);
        else
            Assert.Equal(expected, actual);
    }

    // ================================================================ round trip

    [Fact]
    public void Every_message_round_trips_through_the_serializer_the_system_binds_to_it()
    {
        foreach (var (name, message) in Cases())
        {
            var serializer = SerializerFor(message);
            var manifest = serializer.Manifest(message);
            var bytes = serializer.ToBinary(message);
            var back = serializer.FromBinary(bytes, manifest);
            AssertEquivalent(message, back);
            // Through the system's serialization too, which finds the serializer by the id stored with the bytes.
            AssertEquivalent(message, Sys.Serialization.Deserialize(bytes, BeanstalkSerializer.Id, manifest));
            // The copy writes the same bytes.
            Assert.True(bytes.AsSpan().SequenceEqual(serializer.ToBinary(back)), $"{name}: the copy's bytes differ");
        }
    }

    [Fact]
    public void A_tube_comes_back_with_the_very_actor_it_names()
    {
        var tube = new Tube("default", 3, TestActor);
        var back = (Tube)SerializerFor(tube).FromBinary(SerializerFor(tube).ToBinary(tube), "bTube");
        back.Queue.Tell("hello");
        ExpectMsg("hello");
        var found = (TubeFound)SerializerFor(new TubeFound(tube)).FromBinary(SerializerFor(tube).ToBinary(new TubeFound(tube)), "bFound");
        found.Tube!.Queue.Tell("again");
        ExpectMsg("again");
    }

    [Fact]
    public void A_tube_without_a_queue_comes_back_without_one()
    {
        // A hub that is stopping for a hand-over answers a tube whose queue is Nobody: the front end takes it
        // for "moving" only if it still is nobody after crossing the wire.
        var tube = new Tube("moving", 1, ActorRefs.Nobody);
        var serializer = SerializerFor(tube);
        var back = (Tube)serializer.FromBinary(serializer.ToBinary(tube), "bTube");
        Assert.Equal(("moving", 1L), (back.Name, back.Number));
        Assert.True(back.Queue.IsNobody(), $"the queue came back as {back.Queue} ({back.Queue.GetType().Name})");
    }

    [Fact]
    public void FindTube_keeps_a_missing_name_apart_from_an_empty_one()
    {
        var serializer = SerializerFor(new FindTube(null, 1));
        var byNumber = (FindTube)serializer.FromBinary(serializer.ToBinary(new FindTube(null, 1)), "bFind");
        var byEmptyName = (FindTube)serializer.FromBinary(serializer.ToBinary(new FindTube("", 1)), "bFind");
        Assert.Null(byNumber.Name);
        Assert.Equal("", byEmptyName.Name);
    }

    [Fact]
    public void The_singletons_come_back_as_their_one_instance()
    {
        Assert.Same(ListTubes.Instance, SerializerFor(ListTubes.Instance).FromBinary([], "bList"));
        Assert.Same(HandOver.Instance, SerializerFor(HandOver.Instance).FromBinary([], "bHandOver"));
    }

    // ================================================================ pinned

    [Fact]
    public void Manifests_are_pinned()
    {
        var cases = Cases();
        Assert.Equal(PinnedManifests.Keys.OrderBy(t => t.Name), cases.Select(c => c.Message.GetType()).Distinct().OrderBy(t => t.Name));
        foreach (var (name, message) in cases)
            Assert.True(PinnedManifests[message.GetType()] == SerializerFor(message).Manifest(message), $"{name}: manifest {SerializerFor(message).Manifest(message)}");
        Assert.Equal(PinnedManifests.Count, PinnedManifests.Values.Distinct().Count());
    }

    [Fact]
    public void Every_message_type_of_the_protocol_is_covered()
    {
        var types = typeof(BeanstalkProtocol).GetNestedTypes()
            .Where(t => !t.IsInterface && typeof(IBeanstalkMessage).IsAssignableFrom(t))
            .ToHashSet();
        Assert.Equal(types.OrderBy(t => t.Name), PinnedManifests.Keys.OrderBy(t => t.Name));
    }

    [Fact]
    public void The_serializer_id_and_binding_are_pinned()
    {
        Assert.Equal(418, BeanstalkSerializer.Id);
        Assert.Same(HandOver.Instance, Sys.Serialization.Deserialize([], 418, "bHandOver")); // the stored id finds it
        Assert.IsType<BeanstalkSerializer>(Sys.Serialization.FindSerializerForType(typeof(IBeanstalkMessage)));
    }

    [Fact]
    public void The_hubs_event_is_written_as_it_always_was()
    {
        // TubeNumbered is in the hub's journal: a UTF-8 string with its 7-bit length, then the number (8 bytes, little-endian).
        var e = new TubeNumbered("jobs", 5);
        var serializer = SerializerFor(e);
        Assert.Equal("046A6F62730500000000000000", Convert.ToHexString(serializer.ToBinary(e)));
        Assert.Equal(e, serializer.FromBinary(Convert.FromHexString("046A6F62730500000000000000"), "eTube"));
        Assert.Equal(new TubeNumbered("t", 1L << 23), serializer.FromBinary(Convert.FromHexString("01740000800000000000"), "eTube"));
    }

    [Fact]
    public void A_message_it_does_not_know_is_refused()
    {
        var serializer = SerializerFor(HandOver.Instance);
        Assert.Throws<ArgumentException>(() => serializer.Manifest("a string"));
        Assert.Throws<ArgumentException>(() => serializer.ToBinary("a string"));
        var e = Assert.Throws<SerializationException>(() => serializer.FromBinary([], "bNope"));
        Assert.Contains("bNope", e.Message);
    }

    // ================================================================ malformed

    [Fact]
    public void Bytes_cut_short_fail_with_SerializationException()
    {
        var cut = 0;
        foreach (var (name, message) in Cases())
        {
            var serializer = SerializerFor(message);
            var manifest = serializer.Manifest(message);
            var bytes = serializer.ToBinary(message);
            for (var length = 0; length < bytes.Length; length++)
            {
                object? decoded = null;
                var e = Record.Exception(() => decoded = serializer.FromBinary(bytes[..length], manifest));
                Assert.True(e is SerializationException,
                    e is null
                        ? $"{name}: {length} of {bytes.Length} bytes were read as {decoded}"
                        : $"{name}: {length} of {bytes.Length} bytes threw {e.GetType()}, not SerializationException: {e}");
                Assert.StartsWith("BeanstalkSerializer", e!.Message);
                cut++;
            }
        }
        Assert.True(cut > 200, $"only {cut} cuts");
    }

    [Fact]
    public void Bytes_left_over_fail_with_SerializationException()
    {
        foreach (var (name, message) in Cases())
        {
            var serializer = SerializerFor(message);
            var manifest = serializer.Manifest(message);
            byte[] longer = [.. serializer.ToBinary(message), 0];
            var e = Record.Exception(() => serializer.FromBinary(longer, manifest));
            Assert.True(e is SerializationException, $"{name}: a byte too many {(e is null ? "was read" : "threw " + e.GetType())}");
        }
    }

    [Fact]
    public void A_tube_list_of_a_negative_or_absurd_length_fails_with_SerializationException()
    {
        var serializer = SerializerFor(ListTubes.Instance);
        Assert.Throws<SerializationException>(() => serializer.FromBinary(BitConverter.GetBytes(-1), "bTubes"));
        Assert.Throws<SerializationException>(() => serializer.FromBinary(BitConverter.GetBytes(int.MaxValue), "bTubes"));
        Assert.Throws<SerializationException>(() => serializer.FromBinary(BitConverter.GetBytes(-1), "bNumbers"));
        Assert.Throws<SerializationException>(() => serializer.FromBinary(BitConverter.GetBytes(int.MaxValue), "bNumbers"));
    }
}
