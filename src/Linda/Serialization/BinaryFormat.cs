using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Text;

namespace Linda.Serialization;

/// <summary>
/// The compact binary encoding <see cref="LindaSerializer"/> writes: variable-length integers,
/// length-prefixed UTF-8 strings (length + 1, so 0 is null), times as UTC ticks.
/// </summary>
internal sealed class BinaryWriter
{
    private readonly ArrayBufferWriter<byte> _buffer;

    public BinaryWriter(int capacity = 256) => _buffer = new ArrayBufferWriter<byte>(capacity);

    public byte[] ToArray() => _buffer.WrittenSpan.ToArray();

    public void Byte(byte value)
    {
        _buffer.GetSpan(1)[0] = value;
        _buffer.Advance(1);
    }

    public void Bool(bool value) => Byte(value ? (byte)1 : (byte)0);

    public void VarULong(ulong value)
    {
        var span = _buffer.GetSpan(10);
        var i = 0;
        while (value >= 0x80)
        {
            span[i++] = (byte)(value | 0x80);
            value >>= 7;
        }
        span[i++] = (byte)value;
        _buffer.Advance(i);
    }

    /// <summary>Zig-zag, so small negative numbers stay small.</summary>
    public void VarLong(long value) => VarULong((ulong)((value << 1) ^ (value >> 63)));

    public void Int(int value) => VarLong(value);

    public void UInt(uint value) => VarULong(value);

    public void Long(long value)
    {
        BinaryPrimitives.WriteInt64LittleEndian(_buffer.GetSpan(8), value);
        _buffer.Advance(8);
    }

    public void NullableInt(int? value)
    {
        Bool(value.HasValue);
        if (value.HasValue)
            Int(value.Value);
    }

    public void NullableUInt(uint? value)
    {
        Bool(value.HasValue);
        if (value.HasValue)
            UInt(value.Value);
    }

    public void String(string? value)
    {
        if (value is null)
        {
            VarULong(0);
            return;
        }
        var length = Encoding.UTF8.GetByteCount(value);
        VarULong((ulong)length + 1);
        Encoding.UTF8.GetBytes(value, _buffer.GetSpan(length));
        _buffer.Advance(length);
    }

    public void Bytes(ReadOnlySpan<byte> value)
    {
        VarULong((ulong)value.Length);
        _buffer.Write(value);
    }

    public void Time(DateTimeOffset value) => Long(value.UtcTicks);

    public void NullableTime(DateTimeOffset? value)
    {
        Bool(value.HasValue);
        if (value.HasValue)
            Time(value.Value);
    }

    public void Duration(TimeSpan value) => VarLong(value.Ticks);

    public void NullableDuration(TimeSpan? value)
    {
        Bool(value.HasValue);
        if (value.HasValue)
            Duration(value.Value);
    }
}

/// <summary>Reads what <see cref="BinaryWriter"/> wrote; a truncated or malformed input throws <see cref="FormatException"/>.</summary>
internal sealed class BinaryReader(byte[] data)
{
    private static readonly ConcurrentDictionary<string, string> Interned = new(StringComparer.Ordinal);
    private int _pos;

    public bool AtEnd => _pos == data.Length;

    /// <summary>The whole message being read.</summary>
    public byte[] Data => data;

    /// <summary>Where the next read starts: a decoder may come back to a place it skipped over.</summary>
    public int Position
    {
        get => _pos;
        set => _pos = value >= 0 && value <= data.Length ? value : throw new ArgumentOutOfRangeException(nameof(value));
    }

    /// <summary>Skips a string or bytes written with <see cref="BinaryWriter.String"/> / <see cref="BinaryWriter.Bytes"/> (null or not); false for null.</summary>
    public bool SkipString()
    {
        var length = VarULong();
        if (length == 0)
            return false;
        Skip(checked((int)(length - 1)));
        return true;
    }

    /// <summary>Skips bytes written with <see cref="BinaryWriter.Bytes"/>.</summary>
    public void SkipBytes() => Skip(checked((int)VarULong()));

    private void Skip(int n)
    {
        if (data.Length - _pos < n)
            throw Truncated();
        _pos += n;
    }

    public byte Byte() => _pos < data.Length ? data[_pos++] : throw Truncated();

    public bool Bool() => Byte() switch
    {
        0 => false,
        1 => true,
        var b => throw new FormatException($"bad boolean byte {b}"),
    };

    public ulong VarULong()
    {
        ulong value = 0;
        for (var shift = 0; shift < 70; shift += 7)
        {
            var b = Byte();
            if (shift == 63 && b > 1)
                throw new FormatException("variable-length integer overflows 64 bits");
            value |= (ulong)(b & 0x7f) << shift;
            if (b < 0x80)
                return value;
        }
        throw new FormatException("variable-length integer is too long");
    }

    public long VarLong()
    {
        var raw = VarULong();
        return (long)(raw >> 1) ^ -(long)(raw & 1);
    }

    public int Int() => checked((int)VarLong());

    public uint UInt() => checked((uint)VarULong());

    /// <summary>The number of items that follow; each takes at least one byte, so it can't be more than the bytes left.</summary>
    public int Count()
    {
        var n = Int();
        if (n < 0)
            throw new FormatException($"negative count {n}");
        return n <= data.Length - _pos ? n : throw new FormatException($"the message is truncated: {n} items can't fit in {data.Length - _pos} bytes");
    }

    public long Long()
    {
        if (data.Length - _pos < 8)
            throw Truncated();
        var value = BinaryPrimitives.ReadInt64LittleEndian(data.AsSpan(_pos));
        _pos += 8;
        return value;
    }

    public int? NullableInt() => Bool() ? Int() : null;

    public uint? NullableUInt() => Bool() ? UInt() : null;

    public string? NullableString()
    {
        var length = VarULong();
        if (length == 0)
            return null;
        var n = checked((int)(length - 1));
        if (data.Length - _pos < n)
            throw Truncated();
        var s = Encoding.UTF8.GetString(data, _pos, n);
        _pos += n;
        return s;
    }

    public string String() => NullableString() ?? throw new FormatException("a required string is null");

    /// <summary>A string that repeats across many jobs (queue and class names): one copy is kept.</summary>
    public string SharedString() => Share(String());

    /// <summary>One copy of a string that repeats across many jobs; the cache is bounded.</summary>
    public static string Share(string s)
    {
        if (Interned.TryGetValue(s, out var shared))
            return shared;
        if (Interned.Count < 4096)
            Interned.TryAdd(s, s);
        return s;
    }

    public byte[] Bytes()
    {
        var n = checked((int)VarULong());
        if (data.Length - _pos < n)
            throw Truncated();
        var bytes = data.AsSpan(_pos, n).ToArray();
        _pos += n;
        return bytes;
    }

    public DateTimeOffset Time()
    {
        var ticks = Long();
        if (ticks < DateTimeOffset.MinValue.UtcTicks || ticks > DateTimeOffset.MaxValue.UtcTicks)
            throw new FormatException($"time ticks {ticks} out of range");
        return new DateTimeOffset(ticks, TimeSpan.Zero);
    }

    public DateTimeOffset? NullableTime() => Bool() ? Time() : null;

    public TimeSpan Duration() => TimeSpan.FromTicks(VarLong());

    public TimeSpan? NullableDuration() => Bool() ? Duration() : null;

    private static FormatException Truncated() => new("the message is truncated");
}
