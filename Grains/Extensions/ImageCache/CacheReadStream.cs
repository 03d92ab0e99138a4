using Microsoft.Win32.SafeHandles;

namespace Glance.Grains.Extensions.ImageCache;

/// <summary>
/// A range of a cache file, read by position (no shared file pointer); with a <see cref="Fill"/>,
/// of a file still growing, waiting for its bytes as they arrive.
/// </summary>
internal sealed class CacheReadStream(SafeFileHandle handle, long offset, long length, Fill? fill) : Stream
{
    private long _position;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => length;

    public override long Position
    {
        get => _position;
        set => throw new NotSupportedException();
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var left = length - _position;
        if (left <= 0 || buffer.Length == 0)
        {
            return 0;
        }
        var want = (int)Math.Min(buffer.Length, left);
        if (fill is not null)
        {
            want = (int)Math.Min(want, await fill.AvailableAsync(offset + _position, cancellationToken));
        }
        var read = await RandomAccess.ReadAsync(handle, buffer[..want], offset + _position, cancellationToken);
        if (read == 0)
        {
            throw new IOException("The image cache file is shorter than its entry.");
        }
        _position += read;
        return read;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count).GetAwaiter().GetResult();

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            handle.Dispose();
        }
        base.Dispose(disposing);
    }
}
