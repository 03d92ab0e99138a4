using Glance.Grains.Storage;
using Microsoft.Win32.SafeHandles;

namespace Glance.Grains.Extensions.ImageCache;

/// <summary>A range of an image being filled into the cache, read as the fill gets there (<see cref="Fill.ReadAsync"/>).</summary>
internal sealed class FillReadStream(SafeFileHandle file, long offset, long length, Fill fill) : ReadOnlyStream
{
    private long _position;

    public override long Length => length;
    public override long Position { get => _position; }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var left = length - _position;
        if (left <= 0 || buffer.Length == 0)
        {
            return 0;
        }
        var read = await fill.ReadAsync(file, offset + _position, buffer[..(int)Math.Min(buffer.Length, left)], cancellationToken);
        _position += read;
        return read;
    }

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            file.Dispose();
        }
        base.Dispose(disposing);
    }
}
