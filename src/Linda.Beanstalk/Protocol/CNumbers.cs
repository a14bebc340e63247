namespace Linda.Beanstalk.Protocol;

/// <summary>
/// beanstalkd 1.12 reads numbers in three ways (prot.c), and clients see the differences, so each is
/// copied here on bytes: <c>read_u64</c>/<c>read_u32</c> for ids, priorities, delays, ttrs and sizes;
/// C <c>strtol</c> for reserve-with-timeout; C <c>strtoul</c> for kick.
/// </summary>
internal static class CNumbers
{
    /// <summary>
    /// <c>read_u64</c>: skips spaces (only ' '), then wants a digit (so no sign), reads decimal digits and
    /// fails past 2^64-1. <paramref name="rest"/> is what follows the digits.
    /// </summary>
    public static bool ReadU64(ReadOnlySpan<byte> text, out ulong value, out ReadOnlySpan<byte> rest)
    {
        value = 0;
        rest = default;
        var i = SkipSpaces(text);
        if (i == text.Length || !IsDigit(text[i]))
            return false;
        if (!Digits(text, ref i, out var magnitude))
            return false;
        value = magnitude;
        rest = text[i..];
        return true;
    }

    /// <summary><c>read_u32</c>: <see cref="ReadU64"/> that also fails past 2^32-1.</summary>
    public static bool ReadU32(ReadOnlySpan<byte> text, out uint value, out ReadOnlySpan<byte> rest)
    {
        value = 0;
        if (!ReadU64(text, out var wide, out rest) || wide > uint.MaxValue)
            return false;
        value = (uint)wide;
        return true;
    }

    /// <summary><see cref="ReadU64"/> with no end pointer: the number must be all that is left.</summary>
    public static bool ReadU64Exact(ReadOnlySpan<byte> text, out ulong value) =>
        ReadU64(text, out value, out var rest) && rest.IsEmpty;

    /// <summary><see cref="ReadU32"/> with no end pointer: the number must be all that is left.</summary>
    public static bool ReadU32Exact(ReadOnlySpan<byte> text, out uint value) =>
        ReadU32(text, out value, out var rest) && rest.IsEmpty;

    /// <summary>
    /// <c>(int) strtol(text, &amp;end, 10)</c>, failing only where strtol sets errno (out of the range of a
    /// 64-bit long). No digits at all gives 0; trailing text is ignored; the cast keeps the low 32 bits.
    /// </summary>
    public static bool StrToLongAsInt(ReadOnlySpan<byte> text, out int value)
    {
        value = 0;
        if (!StrToMagnitude(text, out var negative, out var magnitude, out _))
            return false;
        if (magnitude > (negative ? 1UL << 63 : long.MaxValue))
            return false; // ERANGE
        var wide = negative ? unchecked(0L - (long)magnitude) : (long)magnitude;
        value = unchecked((int)wide);
        return true;
    }

    /// <summary>
    /// <c>(unsigned) strtoul(text, &amp;end, 10)</c>, failing where beanstalkd's kick does: no digits
    /// (<c>end == text</c>) or errno (out of the range of a 64-bit unsigned long). A minus sign negates
    /// modulo 2^64, as C does; trailing text is ignored; the cast keeps the low 32 bits.
    /// </summary>
    public static bool StrToULongAsUInt(ReadOnlySpan<byte> text, out uint value)
    {
        value = 0;
        if (!StrToMagnitude(text, out var negative, out var magnitude, out var anyDigits) || !anyDigits)
            return false;
        var wide = negative ? unchecked(0UL - magnitude) : magnitude;
        value = unchecked((uint)wide);
        return true;
    }

    /// <summary>
    /// The part strtol and strtoul share: white space (C isspace), an optional sign, decimal digits.
    /// False when the digits overflow 64 bits.
    /// </summary>
    private static bool StrToMagnitude(ReadOnlySpan<byte> text, out bool negative, out ulong magnitude, out bool anyDigits)
    {
        var i = 0;
        while (i < text.Length && IsCSpace(text[i]))
            i++;
        negative = false;
        if (i < text.Length && (text[i] == (byte)'+' || text[i] == (byte)'-'))
        {
            negative = text[i] == (byte)'-';
            i++;
        }
        var start = i;
        var ok = Digits(text, ref i, out magnitude);
        anyDigits = i > start;
        return ok;
    }

    /// <summary>Reads the decimal digits at <paramref name="i"/>; false (after reading them all) if they overflow 64 bits.</summary>
    private static bool Digits(ReadOnlySpan<byte> text, ref int i, out ulong value)
    {
        value = 0;
        var overflow = false;
        for (; i < text.Length && IsDigit(text[i]); i++)
        {
            var digit = (ulong)(text[i] - '0');
            if (value > (ulong.MaxValue - digit) / 10)
                overflow = true;
            else
                value = value * 10 + digit;
        }
        return !overflow;
    }

    private static int SkipSpaces(ReadOnlySpan<byte> text)
    {
        var i = 0;
        while (i < text.Length && text[i] == (byte)' ')
            i++;
        return i;
    }

    private static bool IsDigit(byte b) => b is >= (byte)'0' and <= (byte)'9';

    /// <summary>C's isspace in the "C" locale.</summary>
    private static bool IsCSpace(byte b) => b is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\v' or (byte)'\f' or (byte)'\r';
}
