\c orders;
create table orders ( orderid int, customer text, price float ); select * from orders;
