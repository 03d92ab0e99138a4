using Glance.Grains.Storage;

namespace Glance.Storage.Tests;

/// <summary>
/// The hashing stream on its own, where the stores' contract cannot reach: a destination that
/// fails part-way (a full disk) must fail the upload, on either hashing path, without hanging.
/// </summary>
public sealed class HashingReadStreamTests
{
    private const int MiB = 1 << 20;

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_destination_that_fails_midway_fails_the_copy(bool hashInParallel)
    {
        var source = new GeneratedStream(12L * MiB, seed: 21);
        var destination = new FailingStream(failAfter: 3L * MiB);
        var upload = new HashingReadStream(source, long.MaxValue, hashInParallel: hashInParallel);

        var error = await Assert.ThrowsAsync<IOException>(() => upload.CopyToAsync(destination));

        Assert.Equal("No space left on device (simulated).", error.Message);
        Assert.True(destination.Written <= 3L * MiB);
        // Reading stops soon after the failure instead of draining the whole body.
        Assert.True(source.BytesRead <= 7L * MiB, $"read {source.BytesRead} bytes after the destination failed");
        var disposed = Task.Run(upload.Dispose);
        Assert.Same(disposed, await Task.WhenAny(disposed, Task.Delay(TimeSpan.FromSeconds(10))));
    }

    [Fact]
    public async Task Many_uploads_at_once_each_get_their_own_hashes()
    {
        // Enough at once that some hash on lanes and some on their reading thread.
        var uploads = Enumerable.Range(0, 6).Select(async i =>
        {
            var size = 3L * MiB + i * 1000;
            using var upload = new HashingReadStream(new GeneratedStream(size, seed: (ulong)(100 + i)), long.MaxValue);
            await upload.CopyToAsync(Stream.Null);
            return (i, size, measured: await upload.ResultAsync());
        }).ToList();

        foreach (var (i, size, measured) in await Task.WhenAll(uploads))
        {
            using var alone = new HashingReadStream(new GeneratedStream(size, seed: (ulong)(100 + i)), long.MaxValue, hashInParallel: false);
            await alone.CopyToAsync(Stream.Null);
            Assert.Equal(await alone.ResultAsync(), measured);
            Assert.Equal(size, measured.Size);
        }
    }

    /// <summary>A destination that accepts <c>failAfter</c> bytes, then fails every write as a full disk does.</summary>
    private sealed class FailingStream(long failAfter) : Stream
    {
        public long Written { get; private set; }

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            if (Written + buffer.Length > failAfter)
            {
                throw new IOException("No space left on device (simulated).");
            }
            Written += buffer.Length;
        }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Write(buffer.Span);
            return ValueTask.CompletedTask;
        }

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => Written;
        public override long Position { get => Written; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
