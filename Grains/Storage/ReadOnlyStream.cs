namespace Glance.Grains.Storage;

/// <summary>
/// The part every forward-only, read-only stream of the data plane writes the same way: no
/// seeking, no writing, no length unless a subclass knows it, and the array overload of
/// <c>ReadAsync</c> routed to the <see cref="Memory{T}"/> one. Subclasses implement reading and
/// say where they are (<see cref="Position"/>'s getter).
/// </summary>
public abstract class ReadOnlyStream : Stream
{
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
