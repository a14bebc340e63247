using System.Runtime.Serialization;
using System.Text;
using Akka.Actor;
using Akka.Configuration;
using Akka.Serialization;
using static Linda.Beanstalk.BeanstalkProtocol;

namespace Linda.Beanstalk;

/// <summary>
/// Serializes the front end's messages and the tube directory's event (<see cref="TubeHub"/>,
/// <see cref="TubeDirectory"/>), with short manifests that never change (the event is stored in the
/// journal). Bound by <see cref="Config"/>.
/// </summary>
public sealed class BeanstalkSerializer(ExtendedActorSystem system) : SerializerWithStringManifest(system)
{
    /// <summary>The serializer id, fixed: it is stored with the hub's journal rows.</summary>
    public const int Id = 418;

    /// <summary>The serializer and its binding; added to an ActorSystem's config by the front end's set-ups.</summary>
    public static Config Config { get; } = ConfigurationFactory.ParseString("""
        akka.actor {
          serializers.linda-beanstalk = "Linda.Beanstalk.BeanstalkSerializer, Linda.Beanstalk"
          serialization-bindings { "Linda.Beanstalk.BeanstalkProtocol+IBeanstalkMessage, Linda.Beanstalk" = linda-beanstalk }
          serialization-identifiers { "Linda.Beanstalk.BeanstalkSerializer, Linda.Beanstalk" = 418 }
        }
        """);

    // The longest tube list read: far more tubes than a directory holds in practice, far fewer than a corrupt length would make it allocate.
    private const int MaxListLength = 1 << 24;

    /// <inheritdoc />
    public override int Identifier => Id;

    /// <inheritdoc />
    public override string Manifest(object o) => o switch
    {
        GetTube => "bGet",
        FindTube => "bFind",
        ListTubes => "bList",
        Tube => "bTube",
        TubeFound => "bFound",
        TubeList => "bTubes",
        TubeRefused => "bRefused",
        HandOver => "bHandOver",
        TubeNumbered => "eTube",
        TubeNumbers => "bNumbers",
        _ => throw new ArgumentException($"BeanstalkSerializer can't serialize {o.GetType()}"),
    };

    /// <inheritdoc />
    public override byte[] ToBinary(object obj)
    {
        using var stream = new MemoryStream();
        using (var w = new BinaryWriter(stream, Encoding.UTF8))
        {
            switch (obj)
            {
                case GetTube m: w.Write(m.Name); break;
                case FindTube m:
                    w.Write(m.Name is not null);
                    w.Write(m.Name ?? "");
                    w.Write(m.Number);
                    break;
                case ListTubes: break;
                case Tube m: WriteTube(w, m); break;
                case TubeFound m:
                    w.Write(m.Tube is not null);
                    if (m.Tube is not null)
                        WriteTube(w, m.Tube);
                    break;
                case TubeList m:
                    w.Write(m.Tubes.Count);
                    foreach (var t in m.Tubes)
                        WriteTube(w, t);
                    break;
                case TubeRefused m: w.Write(m.Reason); break;
                case HandOver: break;
                case TubeNumbered m:
                    w.Write(m.Name);
                    w.Write(m.Number);
                    break;
                case TubeNumbers m:
                    w.Write(m.Tubes.Count);
                    foreach (var t in m.Tubes)
                    {
                        w.Write(t.Name);
                        w.Write(t.Number);
                    }
                    break;
                default: throw new ArgumentException($"BeanstalkSerializer can't serialize {obj.GetType()}");
            }
        }
        return stream.ToArray();
    }

    /// <inheritdoc />
    public override object FromBinary(byte[] bytes, string manifest)
    {
        using var r = new BinaryReader(new MemoryStream(bytes), Encoding.UTF8);
        try
        {
            object result = manifest switch
            {
                "bGet" => new GetTube(r.ReadString()),
                "bFind" => ReadFind(r),
                "bList" => ListTubes.Instance,
                "bTube" => ReadTube(r),
                "bFound" => new TubeFound(r.ReadBoolean() ? ReadTube(r) : null),
                "bTubes" => ReadList(r),
                "bRefused" => new TubeRefused(r.ReadString()),
                "bHandOver" => HandOver.Instance,
                "eTube" => new TubeNumbered(r.ReadString(), r.ReadInt64()),
                "bNumbers" => ReadNumbers(r),
                _ => throw new SerializationException($"BeanstalkSerializer has no type for manifest '{manifest}'"),
            };
            if (r.BaseStream.Position != bytes.Length)
                throw new SerializationException($"BeanstalkSerializer: a '{manifest}' has bytes left over");
            return result;
        }
        catch (EndOfStreamException e)
        {
            throw new SerializationException($"BeanstalkSerializer: a '{manifest}' is cut short", e);
        }
    }

    private static FindTube ReadFind(BinaryReader r)
    {
        var hasName = r.ReadBoolean();
        var name = r.ReadString();
        return new FindTube(hasName ? name : null, r.ReadInt64());
    }

    private TubeList ReadList(BinaryReader r)
    {
        var n = ListLength(r);
        var tubes = new Tube[n];
        for (var i = 0; i < n; i++)
            tubes[i] = ReadTube(r);
        return new TubeList(tubes);
    }

    private static TubeNumbers ReadNumbers(BinaryReader r)
    {
        var n = ListLength(r);
        var tubes = new TubeNumbered[n];
        for (var i = 0; i < n; i++)
            tubes[i] = new TubeNumbered(r.ReadString(), r.ReadInt64());
        return new TubeNumbers(tubes);
    }

    private static int ListLength(BinaryReader r)
    {
        var n = r.ReadInt32();
        if (n < 0 || n > MaxListLength)
            throw new SerializationException($"BeanstalkSerializer: a tube list of {n}");
        return n;
    }

    private static void WriteTube(BinaryWriter w, Tube t)
    {
        w.Write(t.Name);
        w.Write(t.Number);
        w.Write(Akka.Serialization.Serialization.SerializedActorPath(t.Queue));
    }

    private Tube ReadTube(BinaryReader r) => new(r.ReadString(), r.ReadInt64(), system.Provider.ResolveActorRef(r.ReadString()));
}
