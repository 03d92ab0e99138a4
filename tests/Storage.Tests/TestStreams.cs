using System.Buffers.Binary;
using Glance.Grains.Storage;

namespace Glance.Storage.Tests;

/// <summary>
/// A read-only, non-seekable stream of <c>length</c> pseudo-random bytes made up on the fly (no
/// buffer of the whole content), the same bytes for the same seed whatever the read sizes. Like an
/// HTTP request body it has no length, honours cancellation, and can fail midway.
/// </summary>
public sealed class GeneratedStream(long length, ulong seed, long? failAfter = null, Action<long>? onProgress = null) : ReadOnlyStream
{
    private long _position;

    /// <summary>Bytes handed out so far.</summary>
    public long BytesRead => _position;

    public override long Position { get => _position; }

    /// <summary>The whole content as an array (for small sizes).</summary>
    public static byte[] Bytes(int length, ulong seed)
    {
        var bytes = new byte[length];
        Fill(bytes, 0, seed);
        return bytes;
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (failAfter is { } limit && _position >= limit)
        {
            throw new IOException("Simulated client disconnect: the request body ended early.");
        }
        var end = Math.Min(length, failAfter ?? long.MaxValue);
        var count = (int)Math.Min(buffer.Length, end - _position);
        if (count <= 0)
        {
            return 0;
        }
        Fill(buffer[..count], _position, seed);
        _position += count;
        onProgress?.Invoke(_position);
        return count;
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(Read(buffer.Span));
    }

    // Byte p is byte p % 8 of SplitMix64(seed + p / 8): position-addressable, so any read size gives the same content.
    private static void Fill(Span<byte> buffer, long position, ulong seed)
    {
        Span<byte> word = stackalloc byte[8];
        var done = 0;
        while (done < buffer.Length)
        {
            var at = position + done;
            var skip = (int)(at % 8);
            BinaryPrimitives.WriteUInt64LittleEndian(word, SplitMix64(seed + (ulong)(at / 8)));
            var take = Math.Min(8 - skip, buffer.Length - done);
            word.Slice(skip, take).CopyTo(buffer[done..]);
            done += take;
        }
    }

    private static ulong SplitMix64(ulong x)
    {
        x += 0x9E3779B97F4A7C15UL;
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
        return x ^ (x >> 31);
    }
}

/// <summary>Hides a stream's length and seeking, as a request body does.</summary>
public sealed class NonSeekableStream(Stream inner) : ReadOnlyStream
{
    public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);
    public override int Read(Span<byte> buffer) => inner.Read(buffer);
    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => inner.ReadAsync(buffer, cancellationToken);

    protected override void Dispose(bool disposing)
    {
        if (disposing) inner.Dispose();
        base.Dispose(disposing);
    }
}

/// <summary>Stream helpers for the assertions.</summary>
public static class StreamAssert
{
    /// <summary>Reads a stream to its end.</summary>
    public static async Task<byte[]> ReadAllAsync(Stream stream)
    {
        await using (stream)
        {
            using var copy = new MemoryStream();
            await stream.CopyToAsync(copy);
            return copy.ToArray();
        }
    }

    /// <summary>
    /// Asserts that <paramref name="actual"/> holds exactly the bytes of <paramref name="expected"/>,
    /// comparing chunk by chunk (constant memory, for content too big to hold).
    /// </summary>
    public static async Task EqualAsync(Stream expected, Stream actual)
    {
        var left = new byte[1 << 20];
        var right = new byte[1 << 20];
        long position = 0;
        while (true)
        {
            var count = await expected.ReadAtLeastAsync(left, left.Length, throwOnEndOfStream: false);
            var got = await actual.ReadAtLeastAsync(right, right.Length, throwOnEndOfStream: false);
            if (!left.AsSpan(0, count).SequenceEqual(right.AsSpan(0, got)))
            {
                var at = left.AsSpan(0, count).CommonPrefixLength(right.AsSpan(0, got));
                Assert.Fail($"content differs at byte {position + at} (expected chunk of {count} bytes, got {got})");
            }
            if (count == 0)
            {
                return;
            }
            position += count;
        }
    }
}
